import type { Context } from 'koa';
import createError from 'http-errors';

/** A value fixed at set-up, or computed from each request. */
export type PerRequest<T> = T | ((ctx: Context) => T | Promise<T>);

/** A route handler: it only sets `ctx.body`; `downloadview()` does the rest. */
export type DownloadRoute = (ctx: Context) => Promise<void>;

/**
 * The default name of a route helper: the router parameter `path` (`/files/*path` in
 * @koa/router). A route without it answers 404, as for a name that does not exist.
 *
 * @example
 * router.get('/files/*path', storageDownload({ storage })); // name = ctx.params.path
 */
export function routeParam(ctx: Context): string {
  const value = (ctx as Context & { params?: Record<string, string | undefined> }).params?.path;
  if (typeof value !== 'string') throw createError(404);
  return value;
}

/**
 * The value itself, or what its function returns for this request.
 *
 * @example
 * await resolvePerRequest((ctx) => ctx.params.name, ctx);
 */
export async function resolvePerRequest<T>(value: PerRequest<T>, ctx: Context): Promise<T> {
  return typeof value === 'function' ? (value as (ctx: Context) => T | Promise<T>)(ctx) : value;
}
