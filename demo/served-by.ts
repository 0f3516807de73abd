import type { Context, Middleware, Next } from 'koa';
import type { DownloadEvent, DownloadHook } from '../src/index.ts';

/** One answered request, as the demo's "last downloads" panel shows it. */
export interface ServedDownload {
  at: Date;
  path: string;
  range: string | undefined;
  status: number;
  /** Who sends the bytes: `Koa`, `nginx`, `S3`, … */
  by: string;
  /** How: the offload header, the redirect target, the range streamed. */
  how: string;
  /** What Node sent of the body: the bytes counted by the download events, or nothing to say. */
  sent: string;
}

/** Requests that are the demo's own pages, not downloads. */
const NOT_DOWNLOADS = /^\/(?:$|_demo\/|favicon\.ico$)/;

/** How many answers the panel keeps. */
const KEPT = 12;

/** A download's last event: how it ended. */
type EndEvent = Exclude<DownloadEvent, { type: 'start' }>;

/**
 * The demo's "last downloads", built from the library's download events: each download is told
 * once it ended (sent to the end, left by the client, handed to the proxy, or refused), with
 * the bytes Node sent and how long it took. Answers that are no download at all (a 403 from a
 * permission check before any file was chosen) are recorded by `middleware`, which registers
 * before downloadview(). Each entry is also passed to `log` as one line
 * (`GET /path range=… → 206 by Koa: …`), the demo's access log on the console.
 *
 * @example
 * const served = servedBy(console.log);
 * app.use(served.middleware);
 * app.use(downloadview({ onDownload: served.onDownload }));
 */
export function servedBy(log?: (line: string) => void): {
  onDownload: DownloadHook;
  middleware: Middleware;
  recent(): readonly ServedDownload[];
} {
  const recent: ServedDownload[] = [];
  // Requests told by the events: `start` and `error` are told before the answer leaves
  // downloadview(), so the middleware knows, on its way out, which requests to leave to them.
  const told = new WeakSet<Context>();
  const record = (method: string, entry: ServedDownload) => {
    recent.unshift(entry);
    recent.length = Math.min(recent.length, KEPT);
    const sent = entry.sent ? ` (${entry.sent})` : '';
    log?.(
      `${method} ${entry.path} range=${entry.range ?? '-'} → ${entry.status} by ${entry.by}: ${entry.how}${sent}`,
    );
  };
  const onDownload: DownloadHook = (event) => {
    told.add(event.ctx);
    if (event.type !== 'start') record(event.method, fromEvent(event));
  };
  const middleware = async function servedBy(ctx: Context, next: Next): Promise<void> {
    if (NOT_DOWNLOADS.test(ctx.path)) return next();
    try {
      await next();
    } catch (err) {
      if (!told.has(ctx)) record(ctx.method, notADownload(ctx, statusOf(err)));
      throw err;
    }
    if (!told.has(ctx)) record(ctx.method, notADownload(ctx, ctx.status));
  };
  return { onDownload, middleware, recent: () => recent };
}

function fromEvent(event: EndEvent): ServedDownload {
  const { ctx, status } = event;
  const base = { at: new Date(), path: decoded(event.path), range: event.range, status };
  switch (event.type) {
    case 'error':
      return { ...base, by: 'Koa', how: `refused (${status})`, sent: '' };
    case 'offload':
      return { ...base, ...handedOver(ctx, status), sent: event.complete ? '' : 'not delivered' };
    case 'complete':
    case 'abort': {
      const how = status === 206 ? `streamed ${ctx.response.get('Content-Range')}` : 'streamed';
      const of = event.expectedBytes === undefined ? '' : ` of ${event.expectedBytes}`;
      const ms = `${Math.round(event.durationMs)} ms`;
      const sent =
        event.type === 'complete'
          ? `${event.bytes}${of} bytes in ${ms}`
          : `client left after ${event.bytes}${of} bytes, ${ms}`;
      return { ...base, by: 'Koa', how: status === 304 ? 'not modified' : how, sent };
    }
  }
}

/** [who sends the bytes, how], from the hand-off the app answered with. */
function handedOver(ctx: Context, status: number): { by: string; how: string } {
  const accel = ctx.response.get('X-Accel-Redirect');
  const sendfile = ctx.response.get('X-Sendfile');
  const location = ctx.response.get('Location');
  if (accel === '/remote/') {
    const url = ctx.response.get('X-Offload-Url').split('?')[0];
    return { by: 'the proxy', how: `X-Accel-Redirect: /remote/ + X-Offload-Url (${url})` };
  }
  if (accel) return { by: 'the proxy', how: `X-Accel-Redirect: ${accel}` };
  if (sendfile) return { by: 'the proxy', how: `X-Sendfile: ${sendfile}` };
  if (status >= 300 && status < 400 && location) {
    // A presigned S3 URL carries its signature in the query.
    const target = /[?&]X-Amz-Signature=/.test(location) ? 'S3 (presigned URL)' : location;
    return { by: target.split('?')[0] ?? target, how: `${status} to ${location.split('?')[0]}` };
  }
  // A 304 for an offloadable file: nothing handed over, nothing sent.
  return { by: 'Koa', how: status === 304 ? 'not modified' : `answered ${status}` };
}

/** An answer without a download: a route that refused before choosing a file, a 404 route. */
function notADownload(ctx: Context, status: number): ServedDownload {
  const range = ctx.get('Range') || undefined;
  const how = status < 400 ? `answered ${status}, no file` : `refused (${status})`;
  return { at: new Date(), path: decoded(ctx.path), range, status, by: 'Koa', how, sent: '' };
}

function statusOf(err: unknown): number {
  const status = (err as { status?: unknown } | null)?.status;
  return typeof status === 'number' ? status : 500;
}

function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
