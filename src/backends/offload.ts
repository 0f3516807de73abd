import { formatHttpDate } from '../http/http-date.ts';
import type { Context } from 'koa';
import type { DownloadFile } from '../files/download-file.ts';
import { formatContentDisposition } from '../http/disposition.ts';
import { statEtag } from '../http/etag.ts';
import type { Offload } from './backend.ts';
import { answerHeadOverHttp2 } from './stream-guard.ts';

/**
 * Answers with an empty 200 that tells the proxy to send the file. Always 200: Koa turns an
 * empty body into 204 unless told otherwise, mod_xsendfile acts only on 200 (and leaks the
 * header on any other status), and lighttpd sends the file under whatever status it gets.
 * No Content-Length of the file is claimed: the proxy sets its own. The validators are the
 * ones streaming sends (one function derives both), so proxies that keep them (Apache; nginx
 * and Caddy as docs/proxies/ configure them) answer If-Range as streaming would.
 *
 * @example
 * answerOffloaded(ctx, file, offload, { 'X-Accel-Redirect': '/protected/a.pdf' });
 */
export function answerOffloaded(
  ctx: Context,
  file: DownloadFile,
  offload: Offload,
  headers: Record<string, string>,
): void {
  ctx.body = '';
  ctx.status = 200;
  // Koa 2 would never end a HEAD stream over HTTP/2, as for a streamed file.
  if (ctx.method === 'HEAD') answerHeadOverHttp2(ctx);
  ctx.set('Content-Type', file.contentType(offload.stat));
  ctx.set('Content-Disposition', formatContentDisposition(file.filename, file.attachment));
  const { etag, lastModified } = offload.validators;
  if (etag !== undefined) ctx.set('ETag', etag);
  if (lastModified !== undefined) ctx.set('Last-Modified', formatHttpDate(lastModified));
  ctx.set(headers);
  dropUnlessSentWith200(
    ctx,
    Object.keys(headers).filter((name) => OFFLOAD_HEADER.test(name)),
  );
}

/** The headers that tell a proxy what to send (validators and the rest may go with a 304). */
const OFFLOAD_HEADER = /^x-(?:accel-|sendfile|offload-)/i;

/**
 * The offload headers leave only with the offload's own 200. A middleware that runs after
 * downloadview() may still change the status (koa-conditional-get turns a fresh answer into a
 * 304), and mod_xsendfile then passes `X-Sendfile: <absolute path>` to the client. Checked when
 * the status line is written, the last moment anything can change it.
 */
function dropUnlessSentWith200(ctx: Context, names: readonly string[]): void {
  const res = ctx.res;
  const writeHead = res.writeHead;
  res.writeHead = function writeHeadWithout(this: typeof res, ...args: unknown[]) {
    if (args[0] !== 200) for (const name of names) this.removeHeader(name);
    return (writeHead as (...a: unknown[]) => typeof res).apply(this, args);
  } as typeof res.writeHead;
}

/**
 * Whether the request's answer depends on the ETag: If-Match, If-None-Match, or If-Range with
 * an entity tag (RFC 9110 §13.1). A proxy that derives its own tag would answer these against
 * a tag the app never sent, so such requests are streamed unless the proxy's tag is the app's.
 *
 * @example
 * if (asksAboutEtag(ctx) && offload.validators.etag !== nginxEtag(offload)) return false;
 */
export function asksAboutEtag(ctx: Context): boolean {
  if (ctx.get('If-Match') !== '' || ctx.get('If-None-Match') !== '') return true;
  return ctx.get('Range') !== '' && /^\s*(?:W\/)?"/.test(ctx.get('If-Range'));
}

/**
 * The tag nginx derives for a file it serves (its `etag on` default): the same format as
 * `statEtag`, so in the default `etag: 'stat'` mode nginx and streaming agree.
 *
 * @example
 * nginxEtag(offload); // '"6553f100-100000"'
 */
export function nginxEtag({ stat }: Offload): string | undefined {
  return stat.size !== undefined && stat.modified ? statEtag(stat.size, stat.modified) : undefined;
}
