import type { Context, Middleware, Next } from 'koa';
import { apache } from './backends/apache.ts';
import type { Backend } from './backends/backend.ts';
import { caddy } from './backends/caddy.ts';
import { lighttpd } from './backends/lighttpd.ts';
import { NGINX_OPTION_KEYS, nginx, type NginxOptions } from './backends/nginx.ts';
import { downloadview, useRouteRules } from './middleware.ts';
import { checkOptionKeys, type OptionKeys } from './options.ts';
import { compileRules, type DownloadRule } from './rules.ts';

/** Where one route's files come from and where the proxy finds them. */
export type RouteRule = Omit<DownloadRule, 'backend'>;

/** A route's handler: anything Koa accepts as middleware. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- routers widen ctx freely
export type RouteHandler = Middleware<any, any>;

const ROUTE_RULE_KEYS: OptionKeys<RouteRule> = {
  sourceUrl: true,
  sourceDir: true,
  destinationUrl: true,
  destinationDir: true,
};

/**
 * Under an app-wide downloadview(), the route's rule replaces the app's rules for this route
 * and that one middleware delivers, with its own options (maxRanges, etag) for a file the rule
 * declines. Without one, the wrapper delivers by itself with the default options.
 */
function wrap(name: string, handler: RouteHandler, backend: Backend, rule: RouteRule) {
  if (typeof handler !== 'function') throw new TypeError(`${name}: handler must be a function`);
  checkOptionKeys(name, rule, ROUTE_RULE_KEYS);
  const rules = compileRules([rule], backend, 'offload');
  const standalone = downloadview({ backend, rules: [rule] });
  const wrapped = async (ctx: Context, next: Next) => {
    if (!useRouteRules(ctx, rules)) return standalone(ctx, () => handler(ctx, next));
    await handler(ctx, next);
  };
  return Object.defineProperty(wrapped, 'name', { value: name });
}

/**
 * One route offloaded to nginx with `X-Accel-Redirect`, whatever the app-wide backend.
 *
 * @example
 * router.get('/media/*path', xAccelRedirect(storageDownload({ storage }), { sourceDir: '/srv/media', destinationUrl: '/protected/', expires: 'off' }));
 */
export function xAccelRedirect(handler: RouteHandler, options: RouteRule & NginxOptions) {
  checkOptionKeys('xAccelRedirect', options, { ...ROUTE_RULE_KEYS, ...NGINX_OPTION_KEYS });
  const { sourceUrl, sourceDir, destinationUrl, destinationDir, ...accel } = options;
  const rule = { sourceUrl, sourceDir, destinationUrl, destinationDir };
  return wrap('xAccelRedirect', handler, nginx(accel), rule);
}

/**
 * One route offloaded to Apache with mod_xsendfile's `X-Sendfile`.
 *
 * @example
 * router.get('/media/*path', xSendfile(storageDownload({ storage }), { sourceDir: '/srv/media', destinationDir: '/srv/media' }));
 */
export function xSendfile(handler: RouteHandler, options: RouteRule) {
  return wrap('xSendfile', handler, apache(), options);
}

/**
 * One route offloaded to lighttpd's `X-Sendfile`.
 *
 * @example
 * router.get('/media/*path', lighttpdSendfile(storageDownload({ storage }), { sourceDir: '/srv/media', destinationDir: '/srv/media' }));
 */
export function lighttpdSendfile(handler: RouteHandler, options: RouteRule) {
  return wrap('lighttpdSendfile', handler, lighttpd(), options);
}

/**
 * One route offloaded to Caddy (`X-Accel-Redirect` read by the documented Caddyfile).
 *
 * @example
 * router.get('/media/*path', caddyAccelRedirect(storageDownload({ storage }), { sourceDir: '/srv/media', destinationUrl: '/protected/' }));
 */
export function caddyAccelRedirect(handler: RouteHandler, options: RouteRule) {
  return wrap('caddyAccelRedirect', handler, caddy(), options);
}
