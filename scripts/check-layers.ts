/**
 * The dependency rules of the codebase, checked in CI (`npm run lint:layers`):
 * - no import cycles anywhere (among imports that exist at run time: `import type` is erased);
 * - the core (src/ but its entry and adapters) imports no driver (storages/);
 * - drivers (storages/) import from src/ only the storage contract;
 * - src/http/ is pure: no I/O module, nothing outside itself but the contract's types;
 * - shipped code (src/, storages/) imports nothing from test/, support/, bench/ or demo/,
 *   and bench/ and demo/ import nothing from test/.
 * Hand-written over a package: the one such tool that fits (dependency-cruiser) needs a newer
 * Node than the project supports, and TypeScript's own parser already lists the imports.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** What every module of src/storage's layer may be built on: the contract drivers implement. */
export const CONTRACT = [
  'src/storage.ts',
  'src/errors.ts',
  'src/names.ts',
  'src/options.ts',
  'src/storage-content.ts',
  'src/direct-body.ts',
  'src/generator-stream.ts',
];

/** Modules that wire drivers into the package: its entry points and the local-file adapters. */
const ADAPTERS = [/^src\/index\.ts$/, /^src\/local\//, /^src\/testing\/temporary-storage\.ts$/];

const IO_MODULES = new Set(
  [
    'fs',
    'fs/promises',
    'net',
    'http',
    'http2',
    'https',
    'stream',
    'stream/promises',
    'child_process',
    'dgram',
    'dns',
    'tls',
    'worker_threads',
  ].flatMap((name) => [name, `node:${name}`]),
);

const ROOTS = ['src', 'storages', 'support', 'bench', 'demo', 'test', 'scripts'];

/** Module graph: project-relative path to the project modules and bare specifiers it imports. */
export interface Graph {
  readonly local: Map<string, string[]>;
  readonly external: Map<string, string[]>;
  /** The project imports that exist at run time (not `import type`): cycles are found here. */
  readonly runtime?: Map<string, string[]>;
}

export function readGraph(root: string): Graph {
  const local = new Map<string, string[]>();
  const external = new Map<string, string[]>();
  const runtime = new Map<string, string[]>();
  for (const file of ROOTS.flatMap((dir) => listTs(join(root, dir)))) {
    const path = relative(root, file);
    const text = readFileSync(file, 'utf8');
    const { importedFiles } = ts.preProcessFile(text, true, true);
    const specifiers = importedFiles.map((entry) => entry.fileName);
    const typeOnly = typeOnlySpecifiers(file, text);
    const toPath = (s: string) => relative(root, resolve(dirname(file), s));
    const relatives = specifiers.filter((s) => s.startsWith('.'));
    local.set(path, relatives.map(toPath));
    runtime.set(path, relatives.filter((s) => !typeOnly.has(s)).map(toPath));
    // Types cost nothing at run time: a type from node:http is no I/O.
    external.set(
      path,
      specifiers.filter((s) => !s.startsWith('.') && !typeOnly.has(s)),
    );
  }
  return { local, external, runtime };
}

/** Specifiers imported only as types (`import type …`), in every statement naming them. */
function typeOnlySpecifiers(file: string, text: string): Set<string> {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest);
  const kinds = new Map<string, boolean>();
  for (const statement of source.statements) {
    if (!ts.isImportDeclaration(statement) || !ts.isStringLiteral(statement.moduleSpecifier)) {
      continue;
    }
    const name = statement.moduleSpecifier.text;
    const clause = statement.importClause;
    const onlyTypes =
      clause !== undefined &&
      (clause.isTypeOnly ||
        (clause.name === undefined &&
          clause.namedBindings !== undefined &&
          ts.isNamedImports(clause.namedBindings) &&
          clause.namedBindings.elements.every((element) => element.isTypeOnly)));
    kinds.set(name, (kinds.get(name) ?? true) && onlyTypes);
  }
  return new Set([...kinds].filter(([, onlyTypes]) => onlyTypes).map(([name]) => name));
}

function listTs(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name.startsWith('.')) return [];
    if (statSync(path).isDirectory()) return listTs(path);
    return /\.m?ts$/.test(name) && !name.endsWith('.d.ts') ? [path] : [];
  });
}

/** Every broken rule, one line each; empty when the graph is clean. */
export function checkGraph(graph: Graph): string[] {
  const problems: string[] = [];
  for (const [from, targets] of graph.local) {
    for (const to of targets) {
      const broken = brokenRule(from, to);
      if (broken) problems.push(`${from} imports ${to}: ${broken}`);
    }
    if (from.startsWith('src/http/')) {
      for (const name of graph.external.get(from) ?? []) {
        if (IO_MODULES.has(name)) problems.push(`${from} imports ${name}: src/http/ does no I/O`);
      }
    }
  }
  for (const cycle of findCycles(graph.runtime ?? graph.local))
    problems.push(`cycle: ${cycle.join(' -> ')}`);
  return problems;
}

function brokenRule(from: string, to: string): string | undefined {
  const shipped = from.startsWith('src/') || from.startsWith('storages/');
  if (shipped && /^(test|support|bench|demo|scripts)\//.test(to)) {
    return 'shipped code imports only shipped code';
  }
  if (/^(bench|demo)\//.test(from) && to.startsWith('test/')) {
    return 'bench/ and demo/ share fixtures through support/, not test/';
  }
  if (from.startsWith('storages/') && to.startsWith('src/') && !CONTRACT.includes(to)) {
    return `drivers import from src/ only the storage contract (${CONTRACT.join(', ')})`;
  }
  if (CONTRACT.includes(from) && !CONTRACT.includes(to)) {
    return 'the storage contract is built on itself only';
  }
  const core = from.startsWith('src/') && !ADAPTERS.some((adapter) => adapter.test(from));
  if (core && to.startsWith('storages/')) return 'the core imports no driver';
  if (core && !from.startsWith('src/testing/') && /^src\/(local|testing)\//.test(to)) {
    return 'the core imports no adapter nor test helper';
  }
  if (from.startsWith('src/http/') && !to.startsWith('src/http/')) {
    const allowed = to === 'src/storage.ts' || to === 'src/bounded-cache.ts';
    if (!allowed) return 'src/http/ imports only itself, the contract types and the cache';
  }
  return undefined;
}

/** Each elementary cycle found by a depth-first search, reported once. */
export function findCycles(edges: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  return cycles;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
  const graph = readGraph(root);
  const problems = checkGraph(graph);
  if (problems.length > 0) {
    console.error(`Layer rules broken (${problems.length}):\n  ${problems.join('\n  ')}`);
    process.exit(1);
  }
  console.log(`Layer rules hold: ${graph.local.size} modules, no cycles.`);
}
