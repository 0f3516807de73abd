import type { Context, Middleware, Next } from 'koa';
import type { Backend } from '../../../src/backends/backend.ts';
import { apache, caddy, lighttpd, nginx, type DownloadRule } from '../../../src/index.ts';
import type { ProxyKind } from './proxies.ts';

/**
 * For each proxy, its backend and the rule that offloads a storage published under `prefix`,
 * as docs/proxies/ expects it: nginx and Caddy to the `/protected/` location, Apache and
 * lighttpd to the files directory itself.
 */
export function offloadByUrl(
  kind: ProxyKind,
  filesDir: string,
  prefix: string,
): { backend: Backend; rule: DownloadRule } {
  switch (kind) {
    case 'nginx':
      return { backend: nginx(), rule: { sourceUrl: prefix, destinationUrl: '/protected/' } };
    case 'caddy':
      return { backend: caddy(), rule: { sourceUrl: prefix, destinationUrl: '/protected/' } };
    case 'apache':
      return { backend: apache(), rule: { sourceUrl: prefix, destinationDir: filesDir } };
    case 'lighttpd':
      return { backend: lighttpd(), rule: { sourceUrl: prefix, destinationDir: filesDir } };
  }
}

export const PROXY_KINDS: readonly ProxyKind[] = ['nginx', 'apache', 'lighttpd', 'caddy'];

/** The error handler many apps write: JSON bodies, status from the error, nothing else. */
export const jsonErrors: Middleware = async (ctx: Context, next: Next) => {
  try {
    await next();
  } catch (err) {
    const status = (err as { status?: number }).status ?? 500;
    ctx.status = status;
    ctx.body = { error: status < 500 ? (err as Error).message : 'Internal Server Error' };
  }
};
