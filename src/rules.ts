import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Backend } from './backends/backend.ts';
import {
  targetFromPath,
  targetFromUrl,
  withSlash,
  type OffloadTarget,
} from './backends/offload-target.ts';
import type { DownloadFile } from './files/download-file.ts';
import { isPlainText } from './http/header-value.ts';
import { checkOptionKeys, type OptionKeys } from './options.ts';

/**
 * One offload rule, as django-downloadview's DOWNLOADVIEW_RULES: files whose URL starts with
 * `sourceUrl`, or whose local path lies under `sourceDir`, are offloaded to `destinationUrl`
 * (nginx, Caddy: an internal location) or `destinationDir` (Apache, lighttpd: a directory).
 */
export interface DownloadRule<B = Backend> {
  /** Matches files whose URL starts with this prefix (`/media/`, or an absolute URL). */
  sourceUrl?: string;
  /** Matches files whose local path lies under this directory. */
  sourceDir?: string;
  /** The internal location the matched remainder is appended to (nginx, Caddy). */
  destinationUrl?: string;
  /** The directory the matched remainder is joined to (Apache, lighttpd). */
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
  /** `rule #1 (sourceUrl /media/ → /protected/)`, for debug output. */
  readonly label: string;
  /** What the rule looks at: the file's URL (`sourceUrl`) or its local path (`sourceDir`). */
  readonly on: 'url' | 'path';
  /** The URL prefix or the canonical directory, ending with `/`: what a match starts with. */
  readonly prefix: string;
  /** Where the file at `location` (its URL or path, as `on` says) goes under this rule. */
  target(location: string | undefined): OffloadTarget | undefined;
  /** Where `file` goes under this rule, or `undefined` when the rule does not apply. */
  match(file: DownloadFile): Promise<OffloadTarget | undefined>;
}

/**
 * What `compileRules` does with rules that name no backend of their own: `'offload'` sends
 * them to the middleware's backend; `'check'` (the streaming backend, in development) validates
 * them as written for the production proxy and leaves them out, so both environments share one
 * configuration and differ only in `backend`.
 */
export type RuleMode = 'offload' | 'check';

/**
 * Validates rules once, at start-up, and turns each into a matcher. Matching is by whole path
 * segments, after normalisation: `/media/a` never matches `/media/ab`, and a remainder holding
 * `..` (even percent-encoded) never matches at all.
 *
 * @example
 * compileRules([{ sourceDir: '/srv/media', destinationUrl: '/protected/' }], nginx(), 'offload');
 */
export function compileRules(
  rules: readonly DownloadRule[],
  backend: Backend,
  mode: RuleMode,
): CompiledRule[] {
  const compiled: CompiledRule[] = [];
  rules.forEach((rule, index) => {
    // `rule?.`: a rule that is not an object reaches compileRule's check, which names it.
    const own = rule?.backend;
    if (own === undefined && mode === 'check') checkRule(rule, index);
    else compiled.push(compileRule(rule, index, own ?? backend));
  });
  return compiled;
}

function compileRule(rule: DownloadRule, index: number, backend: Backend): CompiledRule {
  const where = checkShape(rule, index);
  const destination = compileDestination(rule, where, backend.name, backend.destination);
  const { sourceUrl, sourceDir } = rule;
  const source = sourceUrl !== undefined ? `sourceUrl ${sourceUrl}` : `sourceDir ${sourceDir}`;
  const label = `rule #${index + 1} (${source} → ${destination})`;
  if (sourceUrl !== undefined) {
    const prefix = withSlash(sourceUrl);
    const target = (url: string | undefined) => targetFromUrl(url, prefix, destination);
    return {
      backend,
      label,
      on: 'url',
      prefix,
      target,
      match: async (file) => target(await file.url()),
    };
  }
  const prefix = canonicalDir(sourceDir as string);
  const target = (path: string | undefined) => targetFromPath(path, prefix, destination);
  return {
    backend,
    label,
    on: 'path',
    prefix,
    target,
    match: async (file) => target(await file.localPath()),
  };
}

/** A rule for a backend not in use here: its shape and whichever destination it gives. */
function checkRule(rule: DownloadRule, index: number): void {
  const where = checkShape(rule, index);
  if (rule.destinationUrl === undefined && rule.destinationDir === undefined) {
    throw new TypeError(
      `${where} needs "destinationUrl" (nginx, Caddy) or "destinationDir" (Apache, lighttpd)`,
    );
  }
  const kind = rule.destinationUrl !== undefined ? 'url' : 'dir';
  compileDestination(rule, where, 'stream', kind);
}

/** Checks the keys and the one source of a rule; returns its name for later messages. */
function checkShape(rule: DownloadRule, index: number): string {
  const where = `downloadview rule #${index + 1}`;
  if (rule === null || typeof rule !== 'object') throw new TypeError(`${where} must be an object`);
  checkOptionKeys(where, rule, RULE_KEYS);
  const { sourceUrl, sourceDir } = rule;
  if ((sourceUrl === undefined) === (sourceDir === undefined)) {
    throw new TypeError(`${where} needs exactly one of "sourceUrl" or "sourceDir"`);
  }
  checkString(
    sourceUrl ?? sourceDir,
    `${where} "${sourceUrl !== undefined ? 'sourceUrl' : 'sourceDir'}"`,
  );
  return where;
}

function compileDestination(
  rule: DownloadRule,
  where: string,
  backendName: string,
  wanted: 'url' | 'dir' | undefined,
): string {
  if (wanted === undefined) {
    throw new TypeError(`${where}: backend "${backendName}" does not offload to a proxy`);
  }
  const key = wanted === 'url' ? 'destinationUrl' : 'destinationDir';
  const value = rule[key];
  if (value === undefined) {
    throw new TypeError(`${where}: backend "${backendName}" needs "${key}"`);
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

/** A directory as the filesystem resolves it, so it compares equal to storages' real paths. */
function canonicalDir(dir: string): string {
  const absolute = resolve(dir);
  try {
    return withSlash(realpathSync(absolute));
  } catch {
    return withSlash(absolute);
  }
}

function checkString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') {
    throw new TypeError(`${what} must be a non-empty string`);
  }
  return value;
}
