import type { Context } from 'koa';
import { Readable } from 'node:stream';
import createError from 'http-errors';
import type { DownloadFile } from '../files/download-file.ts';
import { DEFAULT_MAX_RANGES } from '../http/range.ts';
import { multipartBody } from '../http/multipart.ts';
import { toConditionalHeaders } from '../http/preconditions.ts';
import type { Backend } from './backend.ts';
import { planStream, type RequestFacts, type StreamPlan } from './stream-plan.ts';
import { guardStreamErrors } from './stream-guard.ts';
import { gatherFacts, type EtagMode } from './validators.ts';

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
      const facts = await gatherFacts(file, await file.stat(), etag);
      await applyPlan(ctx, planStream(requestFacts(ctx), facts, { maxRanges }), file);
      return true;
    },
  };
}

function requestFacts(ctx: Context): RequestFacts {
  const get = (name: string) => ctx.get(name) || undefined;
  return { method: ctx.method, range: get('Range'), conditions: toConditionalHeaders(get) };
}

async function applyPlan(ctx: Context, plan: StreamPlan, file: DownloadFile): Promise<void> {
  if (!('body' in plan)) {
    if (plan.status !== 304)
      throw createError(plan.status, { headers: stringHeaders(plan.headers) });
    ctx.status = 304;
    ctx.body = null;
  } else {
    // HEAD never opens the file; the placeholder lets Koa keep the 200 and Content-Length.
    const body = ctx.method === 'HEAD' ? Readable.from([]) : await openBody(file, plan.body);
    ctx.status = plan.status;
    guardStreamErrors(ctx);
    ctx.body = body;
  }
  // After the body: Koa's body setter drops Content-Length and guesses a Content-Type.
  ctx.set(stringHeaders(plan.headers));
}

function openBody(file: DownloadFile, body: Extract<StreamPlan, { body: unknown }>['body']) {
  if (body === 'whole') return file.open();
  if ('parts' in body) return multipartBody(body, (range) => file.open(range));
  return file.open(body);
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
