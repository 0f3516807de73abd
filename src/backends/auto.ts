import type { Context } from 'koa';
import { BlockList, isIP } from 'node:net';
import type { DownloadFile } from '../files/download-file.ts';
import { targetFromPath } from '../rules.ts';
import { apache } from './apache.ts';
import type { Backend } from './backend.ts';
import { nginx } from './nginx.ts';

/** Options of the `auto` backend. */
export interface AutoOptions {
  /**
   * Addresses of the proxies allowed to configure offload, compared with the connection's own
   * peer address (never with X-Forwarded-For, which a client can write).
   */
  trustedProxies: readonly string[];
}

/**
 * Offload configured by the proxy itself: a trusted proxy sends `X-Sendfile-Type`
 * (`X-Accel-Redirect` or `X-Sendfile`) and, for nginx, `X-Accel-Mapping: /local/dir/=/uri/`
 * pairs, so the proxy's configuration is the single source of truth. Requests from any other
 * peer are streamed: a client can never turn offload on or choose the mapping.
 *
 * @example
 * app.use(downloadview({ backend: auto({ trustedProxies: ['127.0.0.1'] }) }));
 */
export function auto(options: AutoOptions): Backend {
  const trusted = checkTrusted(options?.trustedProxies);
  const accel = nginx();
  const sendfile = apache();
  return {
    name: 'auto',
    async deliver(ctx, file) {
      if (!isTrusted(trusted, ctx.req.socket.remoteAddress)) return false;
      const type = ctx.get('X-Sendfile-Type').trim().toLowerCase();
      const path =
        type === 'x-accel-redirect' || type === 'x-sendfile' ? await file.localPath() : undefined;
      if (path === undefined) return false;
      if (type === 'x-sendfile') return sendfile.deliver(ctx, file, targetFromPath(path, '/', '/'));
      return deliverMapped(ctx, file, path, accel);
    },
  };
}

async function deliverMapped(ctx: Context, file: DownloadFile, path: string, accel: Backend) {
  for (const [dir, uri] of parseMapping(ctx.get('X-Accel-Mapping'))) {
    const target = targetFromPath(path, dir, uri);
    if (target) return accel.deliver(ctx, file, target);
  }
  return false;
}

/** `X-Accel-Mapping: /srv/media/=/protected/, /srv/other=/other/` as [dir/, uri/] pairs. */
function parseMapping(header: string): [string, string][] {
  return header
    .split(',')
    .map((pair) => pair.trim().split('='))
    .filter(
      (kv): kv is [string, string] =>
        kv.length === 2 && kv.every((part) => part.trim().startsWith('/')),
    )
    .map(([dir, uri]) => [withSlash(dir.trim()), withSlash(uri.trim())]);
}

function withSlash(value: string): string {
  return value.endsWith('/') ? value : `${value}/`;
}

/**
 * Whether the connection's peer is a trusted proxy. A BlockList compares addresses, not
 * strings: `::ffff:127.0.0.1` (how a dual-stack server sees an IPv4 client) equals
 * `127.0.0.1` whichever side writes it, and `0:0:0:0:0:0:0:1` equals `::1`.
 */
function isTrusted(trusted: BlockList, peer = ''): boolean {
  const family = isIP(peer);
  return family !== 0 && trusted.check(peer, family === 6 ? 'ipv6' : 'ipv4');
}

function checkTrusted(value: readonly string[] | undefined): BlockList {
  const valid = (ip: unknown): ip is string => typeof ip === 'string' && isIP(ip) !== 0;
  if (!Array.isArray(value) || value.length === 0 || !value.every(valid)) {
    throw new TypeError('auto option "trustedProxies" must be a non-empty array of IP addresses');
  }
  const trusted = new BlockList();
  for (const ip of value) trusted.addAddress(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
  return trusted;
}
