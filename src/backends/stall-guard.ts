import type { Context } from 'koa';
import type { Readable } from 'node:stream';
import { BYTES_WRITTEN, writesDirectly } from '../direct-body.ts';
import { startDeadline } from './stall-clock.ts';

/**
 * How long a storage may keep a streamed download waiting, in milliseconds, by default: 30 s.
 * Long enough for a cold object of a slow S3-compatible store or a network filesystem that
 * hiccups; short enough that a storage that stopped answering does not pin a descriptor and a
 * socket for as long as the client waits, and shorter than the read timeout a reverse proxy
 * in front usually has (nginx's `proxy_read_timeout` is 60 s), so that the app's own answer
 * (a 504, or an aborted connection and its error) comes before the proxy gives up with its own.
 */
export const DEFAULT_STALL_TIMEOUT = 30_000;

/** Checks the `stallTimeout` option of `owner`; the default when absent. */
export function checkStallTimeout(owner: string, value: number | undefined): number {
  if (value === undefined) return DEFAULT_STALL_TIMEOUT;
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TypeError(
      `${owner} option "stallTimeout" must be a positive integer of milliseconds, got ${value}`,
    );
  }
  return value;
}

/**
 * Settles as `work` does, or rejects with `stalled()` once `ms` (to 1.1 × `ms`, stall-clock.ts)
 * passed first. The storage call itself cannot be cancelled through the `Storage` contract, so
 * what it gives later (an opened file, a stream) is handed to `release`, never left open.
 *
 * @example
 * const opened = await withinStallTimeout(file.openFile(), 30_000, stalled, (o) => o?.close());
 */
export function withinStallTimeout<T>(
  work: Promise<T>,
  ms: number,
  stalled: () => Error,
  release?: (late: T) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timedOut = false;
    const cancel = startDeadline(ms, () => {
      timedOut = true;
      reject(stalled());
    });
    work.then(
      (value) => {
        cancel();
        if (timedOut) release?.(value);
        else resolve(value);
      },
      (err: unknown) => {
        cancel();
        if (!timedOut) reject(err as Error);
      },
    );
  });
}

/**
 * Destroys `body` with `stalled()` when, for `ms`, it gave no byte although the response was
 * waiting for one. A client that reads slowly is not a stall: while the response has bytes it
 * has not sent (the body is paused by backpressure or holds bytes), the clock does not run.
 *
 * The watch starts when the body is piped into the response (Koa does it after the
 * middleware), and counts bytes by listening to `data` then: listening earlier would switch
 * the body to flowing before anyone reads it. It is checked on a timer every half `ms`, so a
 * stall is found between `ms` and 1.5 × `ms` after the last byte; the timer never holds the
 * process open, and stops with the body or the response.
 *
 * @example
 * watchForStall(ctx, body, 30_000, () => new StorageStalledError('s3'));
 */
export function watchForStall(
  ctx: Context,
  body: Readable,
  ms: number,
  stalled: () => Error,
): void {
  const res = ctx.res;
  let last = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    clearTimeout(timer);
    timer = undefined;
    body.off(progress, onData);
  };
  const onData = () => {
    last = Date.now();
  };
  const check = () => {
    if (body.destroyed || body.readableEnded) return stop();
    const now = Date.now();
    if (waitingOnClient(body, res)) last = now;
    else if (now - last >= ms) {
      stop();
      body.destroy(stalled());
      return;
    }
    timer = setTimeout(check, Math.ceil(ms / 2)).unref();
  };
  // A body that writes itself into the response tells its progress by its own event: a `data`
  // listener would start a second reader.
  let progress: string | symbol = 'data';
  res.once('pipe', (source: Readable) => {
    if (source !== body || body.destroyed) return;
    last = Date.now();
    if (writesDirectly(body)) progress = BYTES_WRITTEN;
    body.on(progress, onData);
    timer = setTimeout(check, Math.ceil(ms / 2)).unref();
  });
  body.once('close', stop);
  res.once('close', stop);
}

/** The body has bytes the response has not taken: the client is the one being waited for. */
function waitingOnClient(body: Readable, res: Context['res']): boolean {
  return (
    body.isPaused() ||
    body.readableLength > 0 ||
    (res as { writableNeedDrain?: boolean }).writableNeedDrain === true
  );
}
