import type { Context } from 'koa';
import type { Readable } from 'node:stream';
import { debuglog } from 'node:util';

const debug = debuglog('koa-downloadview:stream');

/** What a response stream fails with when the client, not the server, ended the exchange. */
const CLIENT_ABORT_CODES = new Set(['ERR_STREAM_PREMATURE_CLOSE', 'ECONNRESET', 'EPIPE']);

/**
 * Adjusts error reporting for one streamed download of `body`, on Koa 2 and Koa 3 alike:
 * - a client that goes away is not an error: Koa 3's pipeline reports it as a premature close,
 *   so it is logged to debug output only. An error of `body` itself is always the server's,
 *   whatever its code: a storage connection reset (ECONNRESET) is not a client leaving;
 * - an error after the headers went out must abort the connection, never leave a short body
 *   that looks complete: Koa 2 pipes without `pipeline()` and would leave the response open;
 * - each failure reaches `app.emit('error')` once, although Node can surface it on both the
 *   body stream and the socket.
 */
export function guardStreamErrors(ctx: Context, body: Readable): void {
  const report = ctx.onerror;
  let reported = false;
  let bodyError: Error | undefined;
  body.once('error', (err) => (bodyError = err));
  ctx.onerror = function onerror(err: Error | null) {
    if (err == null) return;
    if (err !== bodyError && isClientAbort(err, ctx)) {
      debug('client left %s %s before the end: %s', ctx.method, ctx.path, errorCode(err));
      return;
    }
    if (ctx.headerSent) ctx.res.destroy();
    if (reported) return;
    reported = true;
    report.call(ctx, err);
  };
}

function isClientAbort(err: Error, ctx: Context): boolean {
  const code = errorCode(err);
  return code !== undefined && CLIENT_ABORT_CODES.has(code) && !ctx.res.writableFinished;
}

function errorCode(err: Error): string | undefined {
  const { code } = err as NodeJS.ErrnoException;
  return typeof code === 'string' ? code : undefined;
}
