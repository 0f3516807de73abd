import { realpathSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { Backend, OffloadTarget } from './backends/backend.ts';
import type { DownloadFile } from './files/download-file.ts';
import { isPlainText } from './http/header-value.ts';
import { checkOptionKeys, type OptionKeys } from './options.ts';

/**
 * One offload rule, as django-downloadview's DOWNLOADVIEW_RULES: files whose URL starts with
 * `sourceUrl`, or whose local path lies under `sourceDir`, are offloaded to `destinationUrl`
 * (nginx, Caddy: an internal location) or `destinationDir` (Apache, lighttpd: a directory).
 */
export interface DownloadRule<B = Backend> {
  sourceUrl?: string;
  sourceDir?: string;
  destinationUrl?: string;
  destinationDir?: string;
  /** The backend for this rule; default: the middleware's backend. */
  backend?: B;
}

const RULE_KEYS: OptionKeys<DownloadRule> = {
  sourceUrl: true,
  sourceDir: true,
  destinationUrl: true,
  destinationDir: true,
  backend: true,
};

/** A validated rule, ready to match files. */
export interface CompiledRule {
  readonly backend: Backend;
  /** Where `file` goes under this rule, or `undefined` when the rule does not apply. */
  match(file: DownloadFile): Promise<OffloadTarget | undefined>;
}

/**
 * Validates rules once, at start-up, and turns each into a matcher. Matching is by whole path
 * segments, after normalisation: `/media/a` never matches `/media/ab`, and a remainder holding
 * `..` (even percent-encoded) never matches at all.
 *
 * @example
 * compileRules([{ sourceDir: '/srv/media', destinationUrl: '/protected/' }], nginx());
 */
export function compileRules(rules: readonly DownloadRule[], fallback: Backend): CompiledRule[] {
  // `rule?.`: a rule that is not an object reaches compileRule's check, which names it.
  return rules.map((rule, index) => compileRule(rule, index, rule?.backend ?? fallback));
}

function compileRule(rule: DownloadRule, index: number, backend: Backend): CompiledRule {
  const where = `downloadview rule #${index + 1}`;
  if (rule === null || typeof rule !== 'object') throw new TypeError(`${where} must be an object`);
  checkOptionKeys(where, rule, RULE_KEYS);
  const { sourceUrl, sourceDir } = rule;
  if ((sourceUrl === undefined) === (sourceDir === undefined)) {
    throw new TypeError(`${where} needs exactly one of "sourceUrl" or "sourceDir"`);
  }
  const destination = compileDestination(rule, where, backend);
  if (sourceUrl !== undefined) {
    const prefix = withSlash(checkString(sourceUrl, `${where} "sourceUrl"`));
    return { backend, match: async (file) => targetFromUrl(await file.url(), prefix, destination) };
  }
  const dir = canonicalDir(checkString(sourceDir, `${where} "sourceDir"`));
  return {
    backend,
    match: async (file) => targetFromPath(await file.localPath(), dir, destination),
  };
}

function compileDestination(rule: DownloadRule, where: string, backend: Backend) {
  const wanted = backend.destination;
  if (wanted === undefined) {
    throw new TypeError(`${where}: backend "${backend.name}" does not offload to a proxy`);
  }
  const key = wanted === 'url' ? 'destinationUrl' : 'destinationDir';
  const value = rule[key];
  if (value === undefined) {
    throw new TypeError(`${where}: backend "${backend.name}" needs "${key}"`);
  }
  const checked = checkString(value, `${where} "${key}"`);
  // A destination is written into the offload header: it must be an absolute path (a location
  // of the proxy's, or a directory), never resolved against the app's working directory.
  if (!checked.startsWith('/') || !isPlainText(checked)) {
    throw new TypeError(
      `${where} "${key}" must be an absolute path without control characters, got ${JSON.stringify(checked)}`,
    );
  }
  if (wanted === 'dir') return withSlash(resolve(checked));
  if (/(^|\/)\.\.?(\/|$)/.test(checked)) {
    throw new TypeError(`${where} "${key}" must not hold "." or ".." segments, got ${checked}`);
  }
  return withSlash(checked);
}

/** The remainder after `prefix`, decoded segment by segment; refused if any segment is unsafe. */
function targetFromUrl(url: string | undefined, prefix: string, destination: string) {
  if (url === undefined || !url.startsWith(prefix)) return undefined;
  const rest = url.slice(prefix.length).split(/[?#]/, 1)[0] ?? '';
  try {
    return safeTarget(rest.split('/').map(decodeURIComponent), destination, url);
  } catch {
    return undefined; // malformed percent-encoding: not ours to offload
  }
}

/**
 * The target for a local path under `dir` (ending with `/`), or `undefined` when it lies
 * elsewhere.
 *
 * @example
 * targetFromPath('/srv/media/a b.txt', '/srv/media/', '/protected/'); // rest: 'a b.txt'
 */
export function targetFromPath(
  path: string | undefined,
  dir: string,
  destination: string,
): OffloadTarget | undefined {
  if (path === undefined || !path.startsWith(dir)) return undefined;
  return safeTarget(path.slice(dir.length).split(sep), destination, undefined);
}

function safeTarget(
  segments: string[],
  destination: string,
  url: string | undefined,
): OffloadTarget | undefined {
  const unsafe = segments.some((s) => s === '' || s === '.' || s === '..' || /[/\\\0]/.test(s));
  if (unsafe) return undefined;
  return { destination, rest: segments.join('/'), url };
}

/** A directory as the filesystem resolves it, so it compares equal to storages' real paths. */
function canonicalDir(dir: string): string {
  const absolute = resolve(dir);
  try {
    return withSlash(realpathSync(absolute));
  } catch {
    return withSlash(absolute);
  }
}

function withSlash(value: string): string {
  return value.endsWith('/') ? value : `${value}/`;
}

function checkString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${what} must be a non-empty string`);
  }
  return value;
}
