import type { Context, Middleware, Next } from 'koa';

/** One answered download, as the demo's "last downloads" panel shows it. */
export interface ServedDownload {
  at: Date;
  path: string;
  range: string | undefined;
  status: number;
  /** Who sends the bytes: `Koa`, `nginx`, `S3`, … */
  by: string;
  /** How: the offload header, the redirect target, the range streamed. */
  how: string;
}

/** Requests that are the demo's own pages, not downloads. */
const NOT_DOWNLOADS = /^\/(?:$|_demo\/|favicon\.ico$)/;

/** How many answers the panel keeps. */
const KEPT = 12;

/**
 * Records who served each download, read from what the app answered: an offload header, a
 * redirect, or a streamed body. Registered before downloadview(), so it sees the final answer.
 * Each answer is also passed to `log` as one line (`GET /path range=… → 206 by Koa …`), which
 * is the demo's access log on the console.
 *
 * @example
 * const served = servedBy(console.log);
 * app.use(served.middleware);
 * app.use(downloadview());
 */
export function servedBy(log?: (line: string) => void): {
  middleware: Middleware;
  recent(): readonly ServedDownload[];
} {
  const recent: ServedDownload[] = [];
  const record = (ctx: Context, status: number) => {
    const entry = describe(ctx, status);
    recent.unshift(entry);
    recent.length = Math.min(recent.length, KEPT);
    log?.(
      `${ctx.method} ${entry.path} range=${entry.range ?? '-'} → ${status} by ${entry.by}: ${entry.how}`,
    );
  };
  const middleware = async function servedBy(ctx: Context, next: Next): Promise<void> {
    if (NOT_DOWNLOADS.test(ctx.path)) return next();
    try {
      await next();
    } catch (err) {
      record(ctx, (err as { status?: number }).status ?? 500);
      throw err;
    }
    record(ctx, ctx.status);
  };
  return { middleware, recent: () => recent };
}

function describe(ctx: Context, status: number): ServedDownload {
  const range = ctx.get('Range') || undefined;
  const [by, how] = deliveredBy(ctx, status);
  return { at: new Date(), path: decoded(ctx.path), range, status, by, how };
}

/** [who sends the bytes, how], from the headers the app answered with. */
function deliveredBy(ctx: Context, status: number): [string, string] {
  const accel = ctx.response.get('X-Accel-Redirect');
  const sendfile = ctx.response.get('X-Sendfile');
  const location = ctx.response.get('Location');
  if (accel === '/remote/') {
    return [
      'the proxy',
      `X-Accel-Redirect: /remote/ + X-Offload-Url (${ctx.response.get('X-Offload-Url').split('?')[0]})`,
    ];
  }
  if (accel) return ['the proxy', `X-Accel-Redirect: ${accel}`];
  if (sendfile) return ['the proxy', `X-Sendfile: ${sendfile}`];
  if (status >= 300 && status < 400 && location) {
    // A presigned S3 URL carries its signature in the query.
    const target = /[?&]X-Amz-Signature=/.test(location) ? 'S3 (presigned URL)' : location;
    return [target.split('?')[0] ?? target, `${status} to ${location.split('?')[0]}`];
  }
  if (status === 206) return ['Koa', `streamed ${ctx.response.get('Content-Range')}`];
  if (status === 200) return ['Koa', `streamed ${lengthOf(ctx)}`];
  return ['Koa', `refused (${status})`];
}

function lengthOf(ctx: Context): string {
  const length = ctx.response.get('Content-Length');
  return length ? `${length} bytes` : 'chunked, length unknown';
}

function decoded(path: string): string {
  try {
    return decodeURIComponent(path);
  } catch {
    return path;
  }
}
