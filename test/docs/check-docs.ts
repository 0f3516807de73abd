/**
 * Type-checks every TypeScript and JavaScript code block of README.md and docs/**\/*.md against
 * the built package, the way a user's strict project would see it: `koa-downloadview`,
 * `koa-downloadview/testing` and `koa-downloadview/storages/*` resolve through package.json
 * "exports" to dist/ (run `npm run build` first; `npm run test:docs` does).
 *
 * Each block is one ES module. A block that is deliberately incomplete is marked by the line
 * `<!-- fragment -->` (or `<!-- fragment: why -->`) just before its opening fence; it is
 * compiled too, and the marker must be removed once the block compiles. Blocks in any other
 * language (sh, nginx, text, untagged) are not compiled. Links are checked as well
 * (check-links.ts). See docs/writing-docs.md.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { checkLinks } from './check-links.ts';

/** The fence info strings compiled, and the extension each block gets. */
const LANGUAGES: Readonly<Record<string, '.ts' | '.js'>> = {
  ts: '.ts',
  typescript: '.ts',
  js: '.js',
  javascript: '.js',
  mjs: '.js',
};

const FRAGMENT = /^<!--\s*fragment(?:\s*|:[^]*)-->$/;
const FENCE = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/;

/** The options a user's strict NodeNext project would have. */
export const COMPILER_OPTIONS: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2022,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  moduleDetection: ts.ModuleDetectionKind.Force,
  lib: ['lib.es2024.d.ts'],
  types: ['node', 'mocha'],
  strict: true,
  noUncheckedIndexedAccess: true,
  noImplicitOverride: true,
  allowJs: true,
  checkJs: true,
  skipLibCheck: true,
  noEmit: true,
};

/** One code block of a Markdown file. */
export interface CodeBlock {
  /** The Markdown file, relative to the root. */
  file: string;
  /** 1-based line of the block's first code line in that file. */
  line: number;
  language: string;
  code: string;
  fragment: boolean;
}

/** A problem found in a block, located in the Markdown file. */
export interface DocProblem {
  file: string;
  line: number;
  message: string;
}

/** The fenced code blocks of one Markdown text, in order. */
export function extractBlocks(file: string, markdown: string): CodeBlock[] {
  const lines = markdown.split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i] ?? '');
    if (!open) continue;
    const [, indent = '', fence = '', language = ''] = open;
    const end = closingLine(lines, i + 1, fence);
    const code = lines
      .slice(i + 1, end)
      .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l));
    const fragment = FRAGMENT.test(previousText(lines, i));
    blocks.push({
      file,
      line: i + 2,
      language: language.toLowerCase(),
      code: code.join('\n'),
      fragment,
    });
    i = end;
  }
  return blocks;
}

function closingLine(lines: string[], from: number, fence: string): number {
  for (let j = from; j < lines.length; j++) {
    const line = (lines[j] ?? '').trim();
    if (line.startsWith(fence) && line.slice(fence.length).trim() === '') return j;
  }
  return lines.length;
}

function previousText(lines: string[], index: number): string {
  for (let j = index - 1; j >= 0; j--) {
    const line = (lines[j] ?? '').trim();
    if (line !== '') return line;
  }
  return '';
}

/** Whether a block is compiled at all. */
export function isCompiled(block: CodeBlock): boolean {
  return block.language in LANGUAGES;
}

/**
 * Compiles the blocks as modules placed in `root` (so that the package's own name resolves
 * through its "exports") and returns every problem: compile errors of unmarked blocks, and
 * fragment markers on blocks that compile.
 */
export function checkBlocks(root: string, blocks: readonly CodeBlock[]): DocProblem[] {
  const sources = new Map<string, CodeBlock>();
  for (const [index, block] of blocks.entries()) {
    const extension = LANGUAGES[block.language];
    if (extension === undefined) continue;
    const name = block.file.replace(/[^\w.-]+/g, '_');
    sources.set(resolve(root, `.docs-check-${index}-${name}-L${block.line}${extension}`), block);
  }
  const program = ts.createProgram([...sources.keys()], COMPILER_OPTIONS, host(root, sources));
  const problems: DocProblem[] = [];
  const failed = new Set<CodeBlock>();
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const block = diagnostic.file && sources.get(resolve(diagnostic.file.fileName));
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!block || !diagnostic.file) {
      problems.push({ file: '(compiler)', line: 0, message });
      continue;
    }
    failed.add(block);
    if (block.fragment) continue;
    const { line } = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    problems.push({ file: block.file, line: block.line + line, message });
  }
  for (const block of sources.values()) {
    if (block.fragment && !failed.has(block)) {
      const message = 'marked <!-- fragment --> but compiles: remove the marker';
      problems.push({ file: block.file, line: block.line - 1, message });
    }
  }
  return problems;
}

/** The real file system, plus the blocks as files that exist only in memory. */
function host(root: string, sources: Map<string, CodeBlock>): ts.CompilerHost {
  const base = ts.createCompilerHost(COMPILER_OPTIONS, true);
  const text = (fileName: string) => sources.get(resolve(root, fileName))?.code;
  return {
    ...base,
    fileExists: (fileName) => text(fileName) !== undefined || base.fileExists(fileName),
    readFile: (fileName) => text(fileName) ?? base.readFile(fileName),
    getSourceFile(fileName, languageVersion, onError) {
      const code = text(fileName);
      if (code === undefined) return base.getSourceFile(fileName, languageVersion, onError);
      return ts.createSourceFile(fileName, code, languageVersion, true);
    },
  };
}

/** README.md and every Markdown file under docs/, relative to `root`. */
export function documentationFiles(root: string): string[] {
  const docs = readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .filter((name) => name.endsWith('.md'))
    .map((name) => join('docs', name))
    .sort();
  return ['README.md', ...docs];
}

function main(): void {
  const root = resolve(fileURLToPath(import.meta.url), '../../..');
  if (!existsSync(join(root, 'dist/src/index.d.ts'))) {
    console.error(
      'check-docs: dist/ is missing; run `npm run build` first (npm run test:docs does)',
    );
    process.exit(2);
  }
  const files = documentationFiles(root);
  const read = (file: string) => readFileSync(join(root, file), 'utf8');
  const blocks = files.flatMap((file) => extractBlocks(file, read(file)));
  const compiled = blocks.filter(isCompiled);
  const problems = [...checkBlocks(root, compiled), ...checkLinks(root, files, read)].sort(
    (a, b) => a.file.localeCompare(b.file) || a.line - b.line,
  );
  for (const { file, line, message } of problems) {
    console.error(`${relative(process.cwd(), join(root, file))}:${line}: ${message}`);
  }
  const fragments = compiled.filter((block) => block.fragment).length;
  const summary = `${compiled.length} code blocks in ${files.length} files (${fragments} marked fragment)`;
  if (problems.length > 0) {
    console.error(`check-docs: ${problems.length} problem(s) in ${summary}`);
    process.exit(1);
  }
  console.log(`check-docs: ${summary} compile against dist/; links resolve`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
