import type { Context } from 'koa';
import { constants as http2 } from 'node:http2';
import type { Readable } from 'node:stream';
import { debugFor } from '../debug.ts';

const debug = debugFor('stream');

/** What a response stream fails with when the client, not the server, ended the exchange. */
const CLIENT_ABORT_CODES = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE']);

/** `ctx.res` on HTTP/1 (ServerResponse) or over `node:http2`'s compatibility API. */
type AnyResponse = Context['res'] & {
  readonly stream?: { readonly destroyed: boolean; close(code: number): void };
};

/**
 * Adjusts error reporting and clean-up for one streamed download of `body`, on Koa 2 and Koa 3
 * alike, over HTTP/1 and HTTP/2:
 * - a client that goes away is not an error: Koa 3's pipeline reports it as a premature close,
 *   so it is logged to debug output only. An error of `body` itself is always the server's,
 *   whatever its code: a storage connection reset (ECONNRESET) is not a client leaving;
 * - an error after the headers went out must abort the connection, never leave a short body
 *   that looks complete: Koa 2 pipes without `pipeline()` and would leave the response open;
 * - each failure reaches `app.emit('error')` once, although Node can surface it on both the
 *   body stream and the socket;
 * - `body` is destroyed, releasing its file, as soon as the response closes before the body
 *   ended, or at once if it closed already. Over HTTP/2 neither Koa nor Node's compatibility
 *   layer does it for a stream the client reset: Koa's on-finished never fires for a response
 *   that closed before the body was set, and a pipe does not destroy its source (INFRA §9).
 */
export function guardStreamErrors(ctx: Context, body: Readable): void {
  const report = ctx.onerror;
  let reported = false;
  let bodyError: Error | undefined;
  body.once('error', (err) => (bodyError = err));
  releaseOnClose(ctx.res, body);
  ctx.onerror = function onerror(err: Error | null) {
    if (err == null) return;
    if (err !== bodyError && isClientAbort(err, ctx)) {
      debug('client left %s %s before the end: %s', ctx.method, ctx.path, errorCode(err));
      return;
    }
    if (ctx.headerSent) cutShort(ctx.res);
    if (reported) return;
    reported = true;
    report.call(ctx, err);
  };
}

/**
 * Ends a response whose body cannot be completed so that the client sees it incomplete: the
 * HTTP/1 connection is closed; an HTTP/2 stream is reset with INTERNAL_ERROR, since a plain
 * destroy() resets it with NO_ERROR, which Node's client reads as the end of a complete body.
 */
function cutShort(res: AnyResponse): void {
  if (res.stream) res.stream.close(http2.NGHTTP2_INTERNAL_ERROR);
  else res.destroy();
}

/**
 * Koa 2 never ends a HEAD response over HTTP/2: Node closes the writable side of a HEAD stream
 * as it arrives, Koa 2 reads that as a response already sent (`ctx.writable` is false), so
 * respond() returns without `res.end()` and ctx.onerror() sends no error answer either: the
 * client waits forever. Koa 3 ends it. Here, for this one response, `writable` says whether
 * the headers are still to be sent, which is what Koa means to ask.
 */
export function answerHeadOverHttp2(ctx: Context): void {
  const res = ctx.res;
  if (ctx.req.httpVersionMajor < 2 || ctx.writable || res.headersSent) return;
  Object.defineProperty(ctx.response, 'writable', {
    configurable: true,
    get: () => !res.headersSent,
  });
}

function releaseOnClose(res: AnyResponse, body: Readable): void {
  if (responseGone(res)) {
    body.destroy();
    return;
  }
  res.once('close', () => {
    if (!body.readableEnded) body.destroy();
  });
}

/** The client left before the body was handed over (HTTP/1 socket, or HTTP/2 stream, gone). */
function responseGone(res: AnyResponse): boolean {
  return res.destroyed || res.stream?.destroyed === true;
}

function isClientAbort(err: Error, ctx: Context): boolean {
  const code = errorCode(err);
  return code !== undefined && CLIENT_ABORT_CODES.has(code) && !finished(ctx.res);
}

/**
 * The whole response went out. `writableFinished` alone is not enough: over HTTP/2 it turns
 * true when the stream closes, a reset one included.
 */
function finished(res: AnyResponse): boolean {
  return res.writableEnded && res.writableFinished;
}

function errorCode(err: Error): string | undefined {
  const { code } = err as NodeJS.ErrnoException;
  return typeof code === 'string' ? code : undefined;
}
