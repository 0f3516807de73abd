import type { Context, Next } from 'koa';
import { apache } from './backends/apache.ts';
import { auto } from './backends/auto.ts';
import type { Backend, OffloadTarget } from './backends/backend.ts';
import { caddy } from './backends/caddy.ts';
import { lighttpd } from './backends/lighttpd.ts';
import { nginx } from './backends/nginx.ts';
import { redirect } from './backends/redirect.ts';
import { streaming, type StreamingOptions } from './backends/stream.ts';
import { checkEtagMode, fileValidators, type EtagMode } from './backends/validators.ts';
import { toHttpError } from './errors.ts';
import { DownloadFile, DownloadFileSerializedError } from './files/download-file.ts';
import { debugFor } from './debug.ts';
import { downloadEvents } from './events/reporter.ts';
import type { DownloadEventsOptions } from './events/types.ts';
import { checkOptionKeys, type OptionKeys } from './options.ts';
import { DEFAULT_MAX_RANGES } from './http/range.ts';
import { chooseRepresentation, rangeForTheApp } from './representation.ts';
import { matcherFor } from './rule-matcher.ts';
import { compileRules, type CompiledRule, type DownloadRule } from './rules.ts';

const debug = debugFor('middleware');

/** Names of the built-in backends, usable wherever a backend is expected. */
export type BackendName = 'stream' | 'nginx' | 'apache' | 'lighttpd' | 'caddy' | 'redirect';

/** Backends the middleware itself can use; 'auto' needs `trustedProxies`, so not per rule. */
export type MiddlewareBackendName = BackendName | 'auto';

/** Options of `downloadview()`. */
export interface DownloadViewOptions extends StreamingOptions, DownloadEventsOptions {
  /** How matched files are delivered: a backend name or a configured backend. Default `'stream'`. */
  backend?: MiddlewareBackendName | Backend;
  /** Offload rules, first match wins; files no rule matches are streamed. */
  rules?: readonly DownloadRule<BackendName | Backend>[];
  /**
   * With `backend: 'auto'`: peer addresses of the proxies allowed to choose offload through
   * `X-Sendfile-Type` and `X-Accel-Mapping`. Required there, so 'auto' never trusts a client.
   */
  trustedProxies?: readonly string[];
}

const DOWNLOADVIEW_OPTION_KEYS: OptionKeys<DownloadViewOptions> = {
  backend: true,
  rules: true,
  trustedProxies: true,
  maxRanges: true,
  etag: true,
  stallTimeout: true,
  onDownload: true,
  telemetry: true,
};

const NAMED_BACKENDS: Record<Exclude<BackendName, 'stream'>, () => Backend> = {
  nginx: () => nginx(),
  apache,
  lighttpd,
  caddy,
  redirect: () => redirect(),
};

/**
 * The Koa middleware: after the route ran, a `DownloadFile` found in `ctx.body` is offloaded
 * by the first rule that matches it, or streamed with full HTTP semantics.
 *
 * @example
 * app.use(downloadview({ backend: 'nginx', rules: [{ sourceDir: '/srv/media', destinationUrl: '/protected/' }] }));
 * router.get('/files/*path', storageDownload({ storage }));
 */
export function downloadview(options: DownloadViewOptions = {}) {
  checkOptionKeys('downloadview', options, DOWNLOADVIEW_OPTION_KEYS);
  const fallback = streaming({
    maxRanges: options.maxRanges,
    etag: options.etag,
    stallTimeout: options.stallTimeout,
  });
  const etag = checkEtagMode('downloadview', options.etag);
  const maxRanges = options.maxRanges ?? DEFAULT_MAX_RANGES;
  if (options.trustedProxies !== undefined && options.backend !== 'auto') {
    throw new TypeError('downloadview option "trustedProxies" is read only with backend: \'auto\'');
  }
  const backend =
    options.backend === 'auto'
      ? auto({ trustedProxies: options.trustedProxies ?? [] })
      : resolveBackend(options.backend, fallback);
  const appRules = resolveRules(options.rules, backend, fallback);
  const events = downloadEvents('downloadview', options);
  return async function downloadview(ctx: Context, next: Next): Promise<void> {
    const route: RouteSlot = {};
    const outer = activeRoutes.get(ctx);
    activeRoutes.set(ctx, route);
    try {
      await next().catch(explainMisplacedMiddleware);
    } finally {
      if (outer) activeRoutes.set(ctx, outer);
      else activeRoutes.delete(ctx);
    }
    const file: unknown = ctx.body;
    if (!(file instanceof DownloadFile)) return;
    // Koa keeps a status the route set beside the body. A success (202) is answered as 200, as
    // offload needs; a 403 or 404 with a file must never turn into the file: fail closed, no
    // byte leaves, and the message says why.
    if (ctx.status < 200 || ctx.status > 299) throw statusWithFile(ctx.status);
    // Downloads go out as stored, never compressed on the fly by koa-compress (which honours
    // this flag): a compressed body would need its own validators and could not serve ranges.
    (ctx as Context & { compress?: boolean }).compress = false;
    // Only when a hook or a recording tracer listens; otherwise downloads cost nothing more.
    const report = events && (await events.begin(ctx, file));
    try {
      // A per-route wrapper (xAccelRedirect, …) replaces the app's rules for its route only;
      // streaming, when no rule takes the file, keeps this middleware's options.
      const rules = route.rules ?? appRules;
      const sent = await chooseRepresentation(ctx, file);
      const appRange = rangeForTheApp(ctx, file, maxRanges);
      if (appRange === 'whole') delete ctx.req.headers.range;
      const by =
        (appRange === undefined && (await offload(ctx, sent, rules, backend, fallback, etag))) ||
        fallback;
      if (by === fallback) await fallback.deliver(ctx, sent);
      // The Range was ignored on purpose: say this answer takes none, so no proxy in front
      // (lighttpd ranges a backend's 200 by itself) cuts one from it by the same date.
      if (appRange === 'whole') ctx.set('Accept-Ranges', 'none');
      if (debug.enabled) logDelivery(ctx, sent, by);
      report?.delivered(by.name);
    } catch (err) {
      const error = toHttpError(err);
      report?.failed(error);
      throw error;
    }
  };
}

function statusWithFile(status: number): Error {
  return new TypeError(
    `a route set status ${status} and a DownloadFile body: downloadview() sends files only ` +
      `with 200; refuse with ctx.throw(${status}) instead of setting a body`,
  );
}

/**
 * A DownloadFile read as JSON while downloadview() is installed means a middleware registered
 * after it (so running between it and the route) read the body: say what to move where.
 */
function explainMisplacedMiddleware(err: unknown): never {
  if (!(err instanceof DownloadFileSerializedError)) throw err;
  throw new DownloadFileSerializedError(
    'a middleware registered after downloadview() read the DownloadFile in ctx.body as JSON ' +
      '(koa-compress reads its length, koa-etag hashes it): register such middleware before ' +
      'downloadview(), e.g. app.use(compress()); app.use(downloadview()); app.use(router.routes())',
  );
}

/** The backend that delivered `file`, or `undefined` when it is left to streaming. */
async function offload(
  ctx: Context,
  file: DownloadFile,
  rules: readonly CompiledRule[],
  backend: Backend,
  fallback: Backend,
  etag: EtagMode,
): Promise<Backend | undefined> {
  const chosen = await chooseBackend(file, rules, backend, fallback);
  if (chosen === undefined) return undefined;
  // Through the storage, before any offload header: it confines the name to its root and fails
  // for a missing file, so a proxy is never sent to a file the storage would refuse to stream.
  const stat = await file.stat();
  const validators = await fileValidators(file, stat, etag);
  const { target } = chosen;
  const delivered = await chosen.backend.deliver(ctx, file, { stat, validators, target });
  if (debug.enabled) {
    const by = chosen.rule ? `${chosen.rule} for ${chosen.backend.name}` : chosen.backend.name;
    debug('%s matched %s%s', file.filename, by, delivered ? '' : ', which declined it');
  }
  return delivered ? chosen.backend : undefined;
}

/** Under DEBUG: who served the download, and with which header (offload) or status (stream). */
function logDelivery(ctx: Context, file: DownloadFile, by: Backend): void {
  const header = OFFLOAD_HEADERS.find((name) => Boolean(ctx.response.get(name)));
  const how = header ? `${header}: ${ctx.response.get(header)}` : `status ${ctx.status}`;
  debug('%s %s %s via %s (%s)', ctx.method, ctx.path, file.filename, by.name, how);
}

/** The headers an offload answer carries, in the order they are looked for in debug output. */
const OFFLOAD_HEADERS = ['X-Accel-Redirect', 'X-Sendfile', 'Location'];

/** The first matching rule's backend and target, or the rule-less backend; none: stream. */
async function chooseBackend(
  file: DownloadFile,
  rules: readonly CompiledRule[],
  backend: Backend,
  fallback: Backend,
): Promise<{ backend: Backend; target?: OffloadTarget; rule?: string } | undefined> {
  if (rules.length === 0) return backend === fallback ? undefined : { backend };
  const found = await matcherFor(rules).first(file);
  if (found) return { backend: found.rule.backend, target: found.target, rule: found.rule.label };
  // The usual cause of "nothing is offloaded": a storage's baseUrl or location that no
  // sourceUrl or sourceDir covers. Said under DEBUG only: the lookups cost I/O.
  if (debug.enabled) {
    const [url, path] = await Promise.all([file.url(), file.localPath()]).catch(() => []);
    debug('no rule matches %s (url %s, path %s): streamed', file.filename, url, path);
  }
  return undefined;
}

function resolveRules(
  rules: readonly DownloadRule<BackendName | Backend>[] | undefined,
  backend: Backend,
  fallback: Backend,
): CompiledRule[] {
  if (rules === undefined) rules = [];
  if (!Array.isArray(rules)) throw new TypeError('downloadview option "rules" must be an array');
  if (rules.length === 0 && backend.destination !== undefined) {
    throw new TypeError(
      `downloadview: backend "${backend.name}" offloads only files matched by "rules"; add rules`,
    );
  }
  const resolved = rules.map((rule: DownloadRule<BackendName | Backend>) => ({
    ...rule,
    backend: rule?.backend === undefined ? undefined : resolveBackend(rule.backend, fallback),
  }));
  return compileRules(resolved, backend, backend === fallback ? 'check' : 'offload');
}

/** What a per-route wrapper left for the downloadview() around its route. */
interface RouteSlot {
  rules?: readonly CompiledRule[];
}

/** The downloadview() currently running for each request, so route wrappers can find it. */
const activeRoutes = new WeakMap<Context, RouteSlot>();

/**
 * Hands a route's own rules to the downloadview() that runs around it; `false` when none
 * does (the wrapper then delivers by itself).
 *
 * @example
 * if (!useRouteRules(ctx, rules)) await standalone(ctx, next);
 */
export function useRouteRules(ctx: Context, rules: readonly CompiledRule[]): boolean {
  const slot = activeRoutes.get(ctx);
  if (slot === undefined) return false;
  slot.rules = rules;
  return true;
}

/** A backend from its name or object; names are checked against the built-in list. */
function resolveBackend(backend: BackendName | Backend | undefined, fallback: Backend): Backend {
  if (backend === undefined || backend === 'stream') return fallback;
  if (typeof backend === 'string') {
    const make = Object.hasOwn(NAMED_BACKENDS, backend) ? NAMED_BACKENDS[backend] : undefined;
    if (!make) {
      const known = ['stream', ...Object.keys(NAMED_BACKENDS)].join(', ');
      throw new TypeError(`downloadview: unknown backend "${backend}"; known backends: ${known}`);
    }
    return make();
  }
  if (typeof backend?.deliver !== 'function') {
    throw new TypeError('downloadview option "backend" must be a backend name or a Backend object');
  }
  return backend;
}
