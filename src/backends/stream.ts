import type { Context } from 'koa';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import createError from 'http-errors';
import { StorageChangedError, StorageStalledError } from '../errors.ts';
import { DEFAULT_MAX_RANGES } from '../http/range.ts';
import { multipartBody } from './multipart-body.ts';
import { toConditionalHeaders } from '../http/preconditions.ts';
import type { DownloadFile, DownloadFileStat } from '../files/download-file.ts';
import { checkOptionKeys, type OptionKeys } from '../options.ts';
import type { ByteRange, OpenedFile } from '../storage.ts';
import type { Backend } from './backend.ts';
import { hasExactLength } from '../direct-body.ts';
import { holdToLength } from './length-guard.ts';
import { startDeadline } from './stall-clock.ts';
import { checkStallTimeout, watchForStall, withinStallTimeout } from './stall-guard.ts';
import { planStream, type RequestFacts, type StreamPlan } from './stream-plan.ts';
import { answerHeadOverHttp2, guardStreamErrors } from './stream-guard.ts';
import { checkEtagMode, gatherFacts, type EtagMode } from './validators.ts';

/** A file that keeps changing under the reader gets a 503 after this many plans. */
const PLAN_ATTEMPTS = 3;

/**
 * Bodies up to this size are read into one Buffer and written at once, where the source
 * allows (`OpenedFile.read`): no stream, no pipeline, one read. Memory per request stays the
 * size of one stream chunk. Small files were 3× slower as streams (docs/performance.md).
 */
const IN_MEMORY_BODY_LIMIT = 64 * 1024;

/** Options of the streaming backend. */
export interface StreamingOptions {
  /** More ranges than this in one request are answered with the whole file (200). Default 16. */
  maxRanges?: number;
  /** `'stat'` (default): ETag from size and mtime. `'content'`: a hash of the bytes, cached. */
  etag?: EtagMode;
  /**
   * Milliseconds a storage may keep a download waiting: for its metadata, its first byte, or
   * its next one while the client waits (a slow client does not count). Past it, the answer is
   * `504`, or the connection is aborted once the headers went out. Default 30 000.
   */
  stallTimeout?: number;
}

const STREAMING_OPTION_KEYS: OptionKeys<StreamingOptions> = {
  maxRanges: true,
  etag: true,
  stallTimeout: true,
};

/**
 * The streaming fallback: Koa sends the bytes itself, with ranges, conditional requests and
 * HEAD as RFC 9110 describes. Used for every file no proxy rule offloads. Every body holds
 * exactly the bytes its Content-Length declares: more are cut off, fewer abort the connection.
 * Options are checked here, once: an unknown key (`maxRange`) throws a TypeError naming it.
 *
 * @example
 * app.use(downloadview({ backend: streaming({ maxRanges: 4 }) }));
 */
export function streaming(options: StreamingOptions = {}): Backend {
  checkOptionKeys('streaming', options, STREAMING_OPTION_KEYS);
  const maxRanges = checkMaxRanges(options.maxRanges);
  const etag = checkEtagMode('streaming', options.etag);
  const stallTimeout = checkStallTimeout('streaming', options.stallTimeout);
  return {
    name: 'stream',
    async deliver(ctx, file) {
      const request = requestFacts(ctx);
      if (request.method === 'HEAD') answerHeadOverHttp2(ctx);
      const wait = stallWait(file, stallTimeout);
      for (let attempt = 1; ; attempt++) {
        // HEAD never opens the file; GET opens it first where the source can give metadata
        // and bytes from one lookup.
        const opened =
          request.method === 'HEAD'
            ? undefined
            : await wait.for(file.openFile({ whole: wantsWhole(request) }), (late) =>
                late?.close(),
              );
        try {
          const stat = opened?.stat ?? (await wait.for(file.stat()));
          const facts = await gatherFacts(file, stat, etag);
          const plan = planStream(request, facts, { maxRanges });
          await applyPlan(ctx, plan, bodySource(ctx, file, stat, opened), wait);
          return true;
        } catch (err) {
          opened?.close();
          // The file changed between its metadata and its bytes (S3 answered 412 to the pinned
          // read): plan again from the new metadata, so If-Range and the validators see it.
          if (!(err instanceof StorageChangedError) || attempt >= PLAN_ATTEMPTS) throw err;
        }
      }
    },
  };
}

function requestFacts(ctx: Context): RequestFacts {
  // Node's parsed headers, read directly: Koa's ctx.get() would lower-case each name again.
  const headers = ctx.req.headers;
  return {
    method: ctx.method,
    range: headers.range || undefined,
    conditions: toConditionalHeaders(headers),
  };
}

/**
 * A GET with no Range and no precondition is answered with the whole file, whatever the file
 * turns out to be: a source may then fetch it in the same request as its metadata.
 */
function wantsWhole({ method, range, conditions: c }: RequestFacts): boolean {
  if (method !== 'GET' || range !== undefined) return false;
  return !(c.ifMatch || c.ifNoneMatch || c.ifModifiedSince || c.ifUnmodifiedSince || c.ifRange);
}

/**
 * Where the planned body comes from: the opened file, else reads pinned to the stat's ETag.
 * Every body it hands out holds the length the plan declared (`holdToLength`).
 */
interface BodySource {
  /** The whole file or one range: a Buffer when small and the source allows, else a stream. */
  one(range?: ByteRange): Promise<Readable | Buffer>;
  /** One stream per range, for multipart bodies. */
  open(range: ByteRange): Promise<Readable>;
  /** Called when the plan needs no body, or several ranges. */
  release(): void;
}

function bodySource(
  ctx: Context,
  file: DownloadFile,
  stat: DownloadFileStat,
  opened?: OpenedFile,
): BodySource {
  const mismatch = (detail: string) => changedError(file, detail);
  // A body that keeps its length itself (the filesystem's) is not wrapped: a guard in between
  // would stop it from writing itself into the response.
  const hold = (body: Readable, length: number | undefined) =>
    length === undefined || hasExactLength(body, length)
      ? body
      : holdToLength(body, length, mismatch, (err) => ctx.app.emit('error', err, ctx));
  const open = async (range?: ByteRange) =>
    hold(await file.open(range, { ifMatch: stat.etag }), plannedLength(stat, range));
  if (!opened) return { one: open, open, release: () => undefined };
  return {
    one: async (range) => {
      const length = plannedLength(stat, range);
      if (length === undefined || length > IN_MEMORY_BODY_LIMIT) {
        // Read up to the planned end, not to the end of file: a file that grows is not followed.
        return hold(await opened.stream(range ?? wholeRange(length)), length);
      }
      const bytes = await opened.read(range);
      // Nothing is sent yet: a read that disagrees with the stat plans the response again.
      if (bytes.length !== length) throw mismatch(`read ${bytes.length} of ${length} bytes`);
      return bytes;
    },
    open,
    release: () => opened.close(),
  };
}

/** The byte count a read must give: the range's, else the whole file's when known. */
function plannedLength(stat: DownloadFileStat, range?: ByteRange): number | undefined {
  return range ? range.end - range.start + 1 : stat.size;
}

/** The whole file as an explicit range, when its size is known and not zero. */
function wholeRange(size: number | undefined): ByteRange | undefined {
  return size ? { start: 0, end: size - 1 } : undefined;
}

/**
 * Bytes that disagree with the metadata the response was planned from: the file changed under
 * the read, or its source does not keep its own word. The same error as a read pinned to an
 * ETag that no longer matches, so that one code (`ERR_STORAGE_CHANGED`) says "bytes and
 * metadata differ" wherever it is found; before the headers it makes the backend plan again.
 */
function changedError(file: DownloadFile, detail: string): StorageChangedError {
  const { driver, name } = file.describeSource();
  return new StorageChangedError(driver, name, { cause: new Error(detail) });
}

/** Bounds each wait on the storage by the stall timeout (stall-guard.ts). */
interface StallWait {
  /** `work`, or a `StorageStalledError` once the timeout passed; a late result goes to `release`. */
  for<T>(work: Promise<T>, release?: (late: T) => void): Promise<T>;
  /** Aborts `body` if it stops giving bytes while the response waits for them. */
  watch(ctx: Context, body: Readable): void;
  readonly ms: number;
  stalled(): StorageStalledError;
}

function stallWait(file: DownloadFile, ms: number): StallWait {
  const stalled = () => {
    const { driver, name } = file.describeSource();
    return new StorageStalledError(driver, name, ms);
  };
  return {
    for: (work, release) => withinStallTimeout(work, ms, stalled, release),
    watch: (ctx, body) => watchForStall(ctx, body, ms, stalled),
    ms,
    stalled,
  };
}

async function applyPlan(
  ctx: Context,
  plan: StreamPlan,
  source: BodySource,
  wait: StallWait,
): Promise<void> {
  if (!('body' in plan)) {
    source.release();
    if (plan.status !== 304) {
      // Set on the response as well as carried by the error: an app's own error handler that
      // writes a JSON body keeps what is on ctx but seldom copies err.headers, and a 416
      // should say `Content-Range: bytes */size` (RFC 9110 §15.5.17).
      ctx.set(plan.headers);
      throw createError(plan.status, { headers: plan.headers });
    }
    ctx.status = 304;
    ctx.body = null;
  } else {
    // HEAD never opens the file; the placeholder lets Koa keep the 200 and Content-Length.
    const body =
      ctx.method === 'HEAD'
        ? Readable.from([])
        : await wait.for(openBody(source, plan.body), (late) => {
            if (!Buffer.isBuffer(late)) late.destroy();
          });
    if (!Buffer.isBuffer(body)) await firstBytes(body, ctx.res, wait);
    ctx.status = plan.status;
    // Set first, so that Koa's body setter does not look up a type of its own.
    const type = plan.headers['Content-Type'];
    if (type) ctx.set('Content-Type', type);
    if (!Buffer.isBuffer(body)) {
      guardStreamErrors(ctx, body);
      wait.watch(ctx, body);
    }
    ctx.body = body;
  }
  // After the body: Koa's body setter drops Content-Length when the body replaces another.
  ctx.set(plan.headers);
}

/**
 * Resolves once `body` has bytes to give (or has ended); rejects with its error. Until the first
 * byte no header has gone out, so a storage that fails at once (EIO, a reset connection) still
 * gets a proper 5xx answer through the app's error handling, instead of an empty reply once Koa
 * has started the response. The bytes are needed before anything is sent anyway.
 */
async function firstBytes(body: Readable, res: Context['res'], wait: StallWait): Promise<void> {
  // An error the body gives in the same tick as its first bytes would otherwise find no
  // listener (the guard and Koa listen only once the body is handed over) and crash the
  // process; it is kept here and thrown, still before any header.
  let failed: Error | undefined;
  body.on('error', (err) => (failed ??= err));
  if (body.readableLength > 0 || body.readableEnded || res.destroyed) return;
  // A client that leaves meanwhile ends the wait: the body is then handed over as usual, and
  // the guard releases it at once (a storage that stalls must not hold a file for nobody).
  const left = new AbortController();
  const onClose = () => left.abort();
  res.once('close', onClose);
  const cancel = startDeadline(wait.ms, () => body.destroy(wait.stalled()));
  try {
    await once(body, 'readable', { signal: left.signal });
  } catch (err) {
    if (left.signal.aborted) return;
    body.destroy();
    throw err;
  } finally {
    cancel();
    res.off('close', onClose);
  }
  if (failed) throw failed;
}

async function openBody(
  source: BodySource,
  body: Extract<StreamPlan, { body: unknown }>['body'],
): Promise<Readable | Buffer> {
  if (body === 'whole') return source.one();
  if ('parts' in body) {
    source.release();
    return multipartBody(body, source.open);
  }
  return source.one(body);
}

function checkMaxRanges(value: number | undefined): number {
  if (value === undefined) return DEFAULT_MAX_RANGES;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new TypeError(`streaming option "maxRanges" must be a positive integer, got ${value}`);
  }
  return value;
}
