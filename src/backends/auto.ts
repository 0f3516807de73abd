import type { Context } from 'koa';
import { BlockList, isIP } from 'node:net';
import type { DownloadFile } from '../files/download-file.ts';
import { debugFor } from '../debug.ts';
import { checkOptionKeys, type OptionKeys } from '../options.ts';
import { apache } from './apache.ts';
import { targetFromPath, withSlash } from './offload-target.ts';
import type { Backend, Offload } from './backend.ts';
import { lighttpd } from './lighttpd.ts';
import { nginx } from './nginx.ts';

const debug = debugFor('auto');

/** Options of the `auto` backend. */
export interface AutoOptions {
  /**
   * Addresses of the proxies allowed to configure offload, compared with the connection's own
   * peer address (never with X-Forwarded-For, which a client can write).
   */
  trustedProxies: readonly string[];
  /**
   * Which server reads `X-Sendfile` when the proxy sends `X-Sendfile-Type: X-Sendfile`:
   * Apache's mod_xsendfile takes the path as raw bytes, lighttpd percent-decodes it, so one
   * value cannot name the same file for both. Without it such requests are streamed.
   */
  sendfile?: 'apache' | 'lighttpd';
}

const AUTO_OPTION_KEYS: OptionKeys<AutoOptions> = { trustedProxies: true, sendfile: true };

/**
 * Offload configured by the proxy itself: a trusted proxy sends `X-Sendfile-Type`
 * (`X-Accel-Redirect` for nginx, or `X-Sendfile` for the server named by `sendfile`) and, for
 * nginx, `X-Accel-Mapping: /local/dir/=/uri/` pairs, so the proxy's configuration is the
 * single source of truth. Requests from any other peer are streamed: a client can never turn
 * offload on or choose the mapping. The proxy must set (or clear) both headers itself on every
 * request, as the configurations in docs/proxies/ do, or it forwards a client's own.
 *
 * @example
 * app.use(downloadview({ backend: auto({ trustedProxies: ['127.0.0.1'], sendfile: 'apache' }) }));
 */
export function auto(options: AutoOptions): Backend {
  checkOptionKeys('auto', options, AUTO_OPTION_KEYS);
  const trusted = checkTrusted(options?.trustedProxies);
  const sendfile = checkSendfile(options?.sendfile);
  const accel = nginx();
  return {
    name: 'auto',
    async deliver(ctx, file, offload) {
      if (!offload) return false;
      const peer = ctx.req.socket.remoteAddress;
      if (!isTrusted(trusted, peer)) {
        debug('peer %s is not in trustedProxies: %s streamed', peer, file.filename);
        return false;
      }
      const type = ctx.get('X-Sendfile-Type').trim().toLowerCase();
      const backend =
        type === 'x-accel-redirect' ? accel : type === 'x-sendfile' ? sendfile : undefined;
      if (backend === undefined) {
        if (type === 'x-sendfile') {
          debug('X-Sendfile asked, but option "sendfile" names no server: streamed');
        } else debug('no usable X-Sendfile-Type (%j): %s streamed', type, file.filename);
        return false;
      }
      const mapping = parseMapping(ctx.get('X-Accel-Mapping'), type);
      const path = await file.localPath();
      const delivered =
        path !== undefined && (await deliverMapped(ctx, file, path, mapping, backend, offload));
      if (!delivered)
        debug('no X-Accel-Mapping covers %s (path %s): streamed', file.filename, path);
      return delivered;
    },
  };
}

async function deliverMapped(
  ctx: Context,
  file: DownloadFile,
  path: string,
  mapping: [string, string][],
  backend: Backend,
  offload: Offload,
): Promise<boolean> {
  for (const [dir, uri] of mapping) {
    const target = targetFromPath(path, dir, uri);
    if (target) return backend.deliver(ctx, file, { ...offload, target });
  }
  return false;
}

/**
 * `X-Accel-Mapping: /srv/media/=/protected/, /srv/other=/other/` as [dir/, uri/] pairs. With
 * X-Sendfile the right side is the directory the server reads (`/srv/media/=/srv/media/`):
 * the mapping then says which files the server may send at all. No mapping with X-Sendfile:
 * any path, as the server sees the app's.
 */
function parseMapping(header: string, type: string): [string, string][] {
  if (header.trim() === '' && type === 'x-sendfile') return [['/', '/']];
  return header
    .split(',')
    .map((pair) => pair.trim().split('='))
    .filter(
      (kv): kv is [string, string] =>
        kv.length === 2 && kv.every((part) => part.trim().startsWith('/')),
    )
    .map(([dir, uri]) => [withSlash(dir.trim()), withSlash(uri.trim())]);
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

function checkSendfile(value: AutoOptions['sendfile']): Backend | undefined {
  if (value === undefined) return undefined;
  if (value === 'apache') return apache();
  if (value === 'lighttpd') return lighttpd();
  throw new TypeError(
    `auto option "sendfile" must be 'apache' or 'lighttpd', got ${String(value)}`,
  );
}
