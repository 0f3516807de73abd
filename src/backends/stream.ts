import type { Context } from 'koa';
import { Readable } from 'node:stream';
import createError from 'http-errors';
import { StorageChangedError } from '../errors.ts';
import { DEFAULT_MAX_RANGES } from '../http/range.ts';
import { multipartBody } from '../http/multipart.ts';
import { toConditionalHeaders } from '../http/preconditions.ts';
import type { ByteRange } from '../storage.ts';
import type { Backend } from './backend.ts';
import { planStream, type RequestFacts, type StreamPlan } from './stream-plan.ts';
import { guardStreamErrors } from './stream-guard.ts';
import { gatherFacts, type EtagMode } from './validators.ts';

/** A file that keeps changing under the reader gets a 503 after this many plans. */
const PLAN_ATTEMPTS = 3;

/** Options of the streaming backend. */
export interface StreamingOptions {
  /** More ranges than this in one request are answered with the whole file (200). Default 16. */
  maxRanges?: number;
  /** `'stat'` (default): ETag from size and mtime. `'content'`: a hash of the bytes, cached. */
  etag?: EtagMode;
}

/**
 * The streaming fallback: Koa sends the bytes itself, with ranges, conditional requests and
 * HEAD as RFC 9110 describes. Used for every file no proxy rule offloads.
 *
 * @example
 * app.use(downloadview({ backend: streaming({ maxRanges: 4 }) }));
 */
export function streaming(options: StreamingOptions = {}): Backend {
  const maxRanges = checkMaxRanges(options.maxRanges);
  const etag = checkEtagMode(options.etag);
  return {
    name: 'stream',
    async deliver(ctx, file) {
      for (let attempt = 1; ; attempt++) {
        const stat = await file.stat();
        const facts = await gatherFacts(file, stat, etag);
        const plan = planStream(requestFacts(ctx), facts, { maxRanges });
        try {
          await applyPlan(ctx, plan, (range) => file.open(range, { ifMatch: stat.etag }));
          return true;
        } catch (err) {
          // The file changed between its metadata and its bytes (S3 answered 412 to the pinned
          // read): plan again from the new metadata, so If-Range and the validators see it.
          if (!(err instanceof StorageChangedError) || attempt >= PLAN_ATTEMPTS) throw err;
        }
      }
    },
  };
}

function requestFacts(ctx: Context): RequestFacts {
  const get = (name: string) => ctx.get(name) || undefined;
  return { method: ctx.method, range: get('Range'), conditions: toConditionalHeaders(get) };
}

type OpenRange = (range?: ByteRange) => Promise<Readable>;

async function applyPlan(ctx: Context, plan: StreamPlan, open: OpenRange): Promise<void> {
  if (!('body' in plan)) {
    if (plan.status !== 304)
      throw createError(plan.status, { headers: stringHeaders(plan.headers) });
    ctx.status = 304;
    ctx.body = null;
  } else {
    // HEAD never opens the file; the placeholder lets Koa keep the 200 and Content-Length.
    const body = ctx.method === 'HEAD' ? Readable.from([]) : await openBody(open, plan.body);
    ctx.status = plan.status;
    guardStreamErrors(ctx, body);
    ctx.body = body;
  }
  // After the body: Koa's body setter drops Content-Length and guesses a Content-Type.
  ctx.set(stringHeaders(plan.headers));
}

function openBody(open: OpenRange, body: Extract<StreamPlan, { body: unknown }>['body']) {
  if (body === 'whole') return open();
  if ('parts' in body) return multipartBody(body, open);
  return open(body);
}

function stringHeaders(headers: Record<string, string | number>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)]));
}

function checkMaxRanges(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_RANGES;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`streaming option "maxRanges" must be a positive integer, got ${value}`);
  }
  return value;
}

function checkEtagMode(value: EtagMode | undefined): EtagMode {
  if (value === undefined) return 'stat';
  if (value !== 'stat' && value !== 'content') {
    throw new TypeError(
      `streaming option "etag" must be 'stat' or 'content', got ${String(value)}`,
    );
  }
  return value;
}
