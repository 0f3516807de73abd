import type { Context } from 'koa';

/** `ctx.res` on HTTP/1 (ServerResponse) or over `node:http2`'s compatibility API. */
type AnyResponse = Context['res'] & { readonly stream?: { readonly destroyed: boolean } };

/** The running count of one response's body bytes. */
export interface ByteCount {
  readonly bytes: number;
}

type Writer = (this: AnyResponse, ...args: unknown[]) => unknown;

/**
 * Counts the body bytes `res` is given to write while its connection is open: what Koa pipes
 * into it (a stream, chunk by chunk) or ends it with (a Buffer). Counted at the response, after
 * the length guard and multipart framing, so the count is what went to the connection, and
 * every kind of body is counted the same way. Only responses whose download is reported are
 * counted: with no `onDownload` hook and no recording tracer, nothing is wrapped.
 *
 * @example
 * const count = countBodyBytes(ctx.res);
 * ctx.res.once('finish', () => console.log(count.bytes));
 */
export function countBodyBytes(res: AnyResponse): ByteCount {
  const count = { bytes: 0 };
  const write = res.write as Writer;
  const end = res.end as Writer;
  // Over node:http2, end(chunk) hands its chunk to this.write(): count it only once.
  let counting = false;
  const counted = (original: Writer): Writer =>
    function countOnce(this: AnyResponse, ...args: unknown[]) {
      if (counting) return original.apply(this, args);
      if (!responseGone(res)) count.bytes += chunkLength(args[0], args[1]);
      counting = true;
      try {
        return original.apply(this, args);
      } finally {
        counting = false;
      }
    };
  res.write = counted(write) as typeof res.write;
  res.end = counted(end) as typeof res.end;
  return count;
}

function chunkLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') {
    return Buffer.byteLength(
      chunk,
      typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8',
    );
  }
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}

/** The connection is gone: a write now sends nothing (HTTP/1 socket, or HTTP/2 stream). */
export function responseGone(res: AnyResponse): boolean {
  return res.destroyed || res.socket?.destroyed === true || res.stream?.destroyed === true;
}
