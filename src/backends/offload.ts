import type { Context } from 'koa';
import type { DownloadFile, DownloadFileStat } from '../files/download-file.ts';
import { formatContentDisposition } from '../http/disposition.ts';
import { statEtag } from '../http/etag.ts';
import { knownEtag } from './validators.ts';

/**
 * Answers with an empty 200 that tells the proxy to send the file. Always 200: Koa turns an
 * empty body into 204 unless told otherwise, mod_xsendfile acts only on 200 (and leaks the
 * header on any other status), and lighttpd sends the file under whatever status it gets.
 * No Content-Length of the file is claimed: the proxy sets its own.
 *
 * @example
 * answerOffloaded(ctx, file, stat, { 'X-Accel-Redirect': '/protected/a.pdf' });
 */
export function answerOffloaded(
  ctx: Context,
  file: DownloadFile,
  stat: DownloadFileStat,
  headers: Record<string, string>,
): void {
  ctx.body = '';
  ctx.status = 200;
  ctx.set('Content-Type', file.contentType(stat));
  ctx.set('Content-Disposition', formatContentDisposition(file.filename, file.attachment));
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
 * ETag and Last-Modified from the file itself, for proxies that would otherwise invent bad
 * ones (Apache with mod_xsendfile sends `ETag: "0"` for every file unless configured).
 */
export function validatorHeaders(stat: DownloadFileStat): Record<string, string> {
  const headers: Record<string, string> = {};
  const etag =
    knownEtag(stat) ??
    (stat.size !== undefined && stat.modified ? statEtag(stat.size, stat.modified) : undefined);
  if (etag) headers['ETag'] = etag;
  if (stat.modified) headers['Last-Modified'] = stat.modified.toUTCString();
  return headers;
}
