/**
 * Checks the links of README.md and docs/**\/*.md: README.md links only absolutely (npm shows it
 * without the docs/ beside it), and every link to a file of this repository, relative or
 * through its GitHub URL, names a file that exists and, for Markdown, a heading that exists.
 */
import { existsSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import type { DocProblem } from './check-docs.ts';

/** Where the repository is published; links under it are checked against the working tree. */
export const REPOSITORY_URL = 'https://github.com/koa-downloadview/koa-downloadview/';

const INLINE_LINK = /\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
const DEFINITION = /^\s{0,3}\[[^\]]+\]:\s*(\S+)/;
const HEADING = /^#{1,6}\s+(.*?)\s*#*\s*$/;
const FENCE = /^\s*(`{3,}|~{3,})/;

/** One link and where it was written. */
interface Link {
  line: number;
  target: string;
}

/** Every problem with the links of `files` (paths relative to `root`). */
export function checkLinks(
  root: string,
  files: readonly string[],
  read: (file: string) => string,
): DocProblem[] {
  const anchors = new Map<string, Set<string>>();
  const anchorsOf = (file: string) => {
    let found = anchors.get(file);
    if (!found) anchors.set(file, (found = headingAnchors(read(file))));
    return found;
  };
  return files.flatMap((file) =>
    links(read(file)).flatMap(({ line, target }) => {
      const message = checkTarget(root, file, target, anchorsOf);
      return message === undefined ? [] : [{ file, line, message }];
    }),
  );
}

function checkTarget(
  root: string,
  file: string,
  target: string,
  anchorsOf: (file: string) => Set<string>,
): string | undefined {
  const external = /^[a-z][a-z0-9+.-]*:/i.test(target);
  if (external && !target.startsWith(REPOSITORY_URL)) return undefined;
  if (file === 'README.md' && !external && !target.startsWith('#')) {
    return `relative link ${target} in README.md: npm shows the README alone; link to ${REPOSITORY_URL}blob/main/…`;
  }
  const [path = '', anchor] = target.split('#', 2);
  const local = external ? repositoryPath(path) : path === '' ? file : join(dirname(file), path);
  if (local === undefined) return undefined;
  const decoded = normalize(decodeURIComponent(local)).replace(/\/$/, '');
  if (!existsSync(join(root, decoded))) return `link to a missing file: ${target}`;
  if (anchor && decoded.endsWith('.md') && !anchorsOf(decoded).has(anchor)) {
    return `link to a missing heading: ${target}`;
  }
  return undefined;
}

/** The path in the working tree of a URL of the repository's main branch, if it is one. */
function repositoryPath(url: string): string | undefined {
  const rest = /^(?:blob|tree)\/main\/(.*)$/.exec(url.slice(REPOSITORY_URL.length));
  return rest?.[1];
}

/** Inline links and link definitions, outside code blocks and code spans. */
function links(markdown: string): Link[] {
  const found: Link[] = [];
  let fence: string | undefined;
  markdown.split('\n').forEach((text, index) => {
    const marker = FENCE.exec(text)?.[1];
    if (marker && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      return;
    }
    if (fence !== undefined) return;
    const prose = text.replace(/`[^`]*`/g, '``');
    const definition = DEFINITION.exec(prose)?.[1];
    if (definition) found.push({ line: index + 1, target: definition });
    for (const match of prose.matchAll(INLINE_LINK)) {
      found.push({ line: index + 1, target: match[1] ?? '' });
    }
  });
  return found;
}

/** The anchors GitHub gives a document's headings. */
export function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fence: string | undefined;
  for (const text of markdown.split('\n')) {
    const marker = FENCE.exec(text)?.[1];
    if (marker && (fence === undefined || marker.startsWith(fence))) {
      fence = fence === undefined ? marker : undefined;
      continue;
    }
    const heading = fence === undefined ? HEADING.exec(text)?.[1] : undefined;
    if (heading === undefined) continue;
    const slug = slugify(heading);
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** GitHub's heading slug: the text of the heading, lower-cased, punctuation dropped. */
function slugify(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}
