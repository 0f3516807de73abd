import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import {
  StorageBadOriginError,
  StorageChangedError,
  StorageError,
  StorageNotFoundError,
  StorageOriginTimeoutError,
} from '../errors.ts';
import { sliceStream } from '../generator-stream.ts';
import type { ByteRange, OpenedFile, OpenFileOptions, OpenOptions } from '../storage.ts';
import { DownloadFile, type DownloadFileOptions, type DownloadFileStat } from './download-file.ts';

/** Options of `HttpFile`. */
export interface HttpFileOptions extends DownloadFileOptions {
  /** Milliseconds to wait for the origin's response headers. Default 30 000. */
  timeout?: number;
  /** Headers sent to the origin with every request (an API token, for instance). */
  headers?: Record<string, string>;
}

const DRIVER = 'http';
const DEFAULT_TIMEOUT = 30_000;

/**
 * Answers to HEAD from origins that serve GET only: 405 and 501 (RFC 9110 §15.5.6, §15.6.2),
 * and 403 from a URL presigned for GET (S3 signs the method, so HEAD fails the signature).
 */
const HEAD_REFUSED = new Set([403, 405, 501]);

/** RFC 9110 §14.4: `Content-Range: bytes first-last/complete-length`, the length maybe `*`. */
const CONTENT_RANGE = /^bytes (\d+)-(\d+)\/(\d+|\*)$/i;

/** A ranged GET pinned to one version (`If-Match`). */
type PinnedReader = (range: ByteRange) => Promise<Readable>;

/**
 * A file served by another HTTP server, streamed through Koa: the counterpart of
 * django-downloadview's HTTPDownloadView. A plain download is one GET, its metadata and bytes
 * from the same answer; otherwise metadata comes from a HEAD (a GET cut after its headers when
 * the origin refuses HEAD) and reads send the byte range to the origin. An origin 404 answers
 * 404, a 5xx, unreachable or inconsistent origin 502, a slow one 504. Only the bytes asked for
 * are passed on, whatever the origin sends; a body that ends short fails the stream. Nothing is
 * buffered whole, and a client that leaves closes the origin connection.
 *
 * @example
 * ctx.body = new HttpFile('https://files.internal/reports/2026.pdf', { timeout: 5000 });
 */
export class HttpFile extends DownloadFile {
  /** The origin URL the bytes are fetched from, parsed once at construction. */
  readonly source: URL;
  readonly #timeout: number;
  readonly #headers: Record<string, string>;
  /**
   * The size the latest metadata gave, which the response is planned from: answers to the
   * reads that follow must match it (a HttpFile shared by concurrent requests checks the latest).
   */
  #plannedSize: number | undefined;

  constructor(url: string | URL, options: HttpFileOptions = {}) {
    const source = new URL(url);
    if (source.protocol !== 'http:' && source.protocol !== 'https:') {
      throw new TypeError(`HttpFile needs an http(s) URL, got ${source.protocol}`);
    }
    const { timeout = DEFAULT_TIMEOUT, headers = {}, ...presentation } = options;
    super(decodePath(source.pathname), presentation);
    if (!Number.isSafeInteger(timeout) || timeout <= 0) {
      throw new TypeError('HttpFile option "timeout" must be a positive number of milliseconds');
    }
    this.source = source;
    this.#timeout = timeout;
    this.#headers = headers;
  }

  override async stat(): Promise<DownloadFileStat> {
    this.#plannedSize = undefined;
    let res = await this.#request('HEAD');
    if (HEAD_REFUSED.has(res.status)) {
      await res.body?.cancel();
      // The headers of a GET, its body cancelled at once (which closes that connection).
      res = await this.#request('GET');
      await res.body?.cancel();
    }
    await this.#check(res);
    const stat = metadata(res);
    this.#plannedSize = stat.size;
    return stat;
  }

  /**
   * With `whole`, one GET whose answer gives the metadata and the body: a plain download costs
   * one request instead of HEAD then GET. Otherwise `undefined`: `stat()` then `open()`.
   */
  override async openFile(options?: OpenFileOptions): Promise<OpenedFile | undefined> {
    if (!options?.whole) return undefined;
    this.#plannedSize = undefined;
    const { res, body } = await this.#get({});
    const stat = metadata(res);
    this.#plannedSize = stat.size;
    return new HttpOpenedFile(stat, body, (range) => this.open(range, { ifMatch: stat.etag }));
  }

  /** With `ifMatch` the origin is asked for that version only; its 412 means it changed. */
  override async open(range?: ByteRange, options?: OpenOptions): Promise<Readable> {
    const headers: Record<string, string> = {};
    if (range) headers['Range'] = `bytes=${range.start}-${range.end}`;
    if (options?.ifMatch) headers['If-Match'] = options.ifMatch;
    return (await this.#get(headers, range)).body;
  }

  override async url(): Promise<string> {
    return this.source.href;
  }

  /**
   * A GET whose answer is checked before any byte is handed out. Its body stream carries
   * exactly the bytes asked for, or the declared length, and fails rather than end short.
   */
  async #get(headers: Record<string, string>, range?: ByteRange) {
    const res = await this.#request('GET', headers);
    const firstByte = await this.#check(res, headers, range);
    const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    if (range) return { res, body: sliceStream(body, range, firstByte) };
    const total = contentLength(res) ?? this.#plannedSize;
    if (total === undefined) return { res, body };
    return { res, body: sliceStream(body, { start: 0, end: total - 1 }) };
  }

  /** Where the body of `res` starts, if it may be passed on; else refused, its body cancelled. */
  async #check(res: Response, sent: Record<string, string> = {}, range?: ByteRange) {
    try {
      return this.#verdict(res, sent, range);
    } catch (err) {
      await res.body?.cancel();
      throw err;
    }
  }

  #verdict(res: Response, sent: Record<string, string>, range?: ByteRange): number {
    const { status } = res;
    const name = this.source.pathname;
    if (status === 404 || status === 410) throw new StorageNotFoundError(DRIVER, name);
    if (status === 412 && sent['If-Match']) throw new StorageChangedError(DRIVER, name);
    if (status !== 200 && !(status === 206 && range)) throw badOrigin(`answered ${status}`);
    // Lengths and ranges count the bytes sent, which fetch would hand over decoded.
    const encoding = res.headers.get('content-encoding');
    if (encoding && encoding.toLowerCase() !== 'identity') {
      throw badOrigin(`sent Content-Encoding ${encoding} to Accept-Encoding: identity`);
    }
    if (status === 206 && range) return this.#firstByte(res, range);
    this.#checkSize(contentLength(res));
    return 0;
  }

  /**
   * The offset of the first byte of a 206 that holds all of `range`, as its single
   * `Content-Range` says (RFC 9110 §15.3.7.1); a wider range is cut down to the one asked.
   */
  #firstByte(res: Response, range: ByteRange): number {
    if (res.headers.get('content-type')?.toLowerCase().startsWith('multipart/')) {
      throw badOrigin('answered one range with a multipart body');
    }
    const served = parseContentRange(res.headers.get('content-range'));
    const length = contentLength(res);
    if (
      !served ||
      served.start > range.start ||
      served.end < range.end ||
      (length !== undefined && length !== served.end - served.start + 1)
    ) {
      throw badOrigin(
        `answered ${res.headers.get('content-range')} to ${range.start}-${range.end}`,
      );
    }
    this.#checkSize(served.size);
    return served.start;
  }

  #checkSize(size: number | undefined): void {
    const planned = this.#plannedSize;
    if (size !== undefined && planned !== undefined && size !== planned) {
      throw badOrigin(`sent a file of ${size} bytes where ${planned} were planned`);
    }
  }

  async #request(method: string, extra: Record<string, string> = {}): Promise<Response> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.#timeout);
    try {
      return await fetch(this.source, {
        method,
        // Bytes as stored: fetch would otherwise ask for gzip and decode it, so that neither
        // Content-Length nor Content-Range would count what the body holds.
        headers: { ...this.#headers, ...extra, 'Accept-Encoding': 'identity' },
        signal: abort.signal,
        redirect: 'follow',
      });
    } catch (err) {
      throw originError(err, abort.signal.aborted);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * A file fetched whole by one GET: metadata from its headers, bytes from its body. A range of
 * it is a new GET pinned to the ETag when the origin gave a strong one, else cut out of the
 * body already arriving, so that bytes and metadata always describe one version.
 */
class HttpOpenedFile implements OpenedFile {
  // An origin may not tell size or date: the streaming backend reads this as the
  // DownloadFileStat it is (no Content-Length, no Last-Modified then).
  readonly stat: OpenedFile['stat'];
  readonly #readPinned: PinnedReader;
  #body: Readable | undefined;
  #taken = false;

  constructor(stat: DownloadFileStat, body: Readable, readPinned: PinnedReader) {
    this.stat = stat as OpenedFile['stat'];
    this.#body = body;
    this.#readPinned = readPinned;
  }

  async read(range?: ByteRange): Promise<Buffer> {
    const stream = await this.stream(range);
    try {
      return await buffer(stream);
    } catch (err) {
      if (err instanceof StorageError) throw err;
      throw new StorageBadOriginError(DRIVER, 'body failed', { cause: err });
    }
  }

  async stream(range?: ByteRange): Promise<Readable> {
    const body = this.#body;
    if (this.#taken || !body) throw new Error('the origin answer was already read or closed');
    this.#taken = true;
    this.#body = undefined;
    const size = this.stat.size as number | undefined;
    if (!range || (range.start === 0 && range.end === (size ?? 0) - 1)) return body;
    if (this.stat.etag === undefined) return sliceStream(body, range);
    // Only part of a file fetched whole: the rest of that transfer is dropped, not read.
    body.destroy();
    return this.#readPinned(range);
  }

  close(): void {
    this.#taken = true;
    // An unread body holds the origin connection until it is consumed or destroyed.
    this.#body?.destroy();
    this.#body = undefined;
  }
}

function metadata(res: Response): DownloadFileStat {
  const modified = res.headers.get('last-modified');
  const etag = res.headers.get('etag');
  const date = modified ? new Date(modified) : undefined;
  return {
    size: contentLength(res),
    modified: date && !Number.isNaN(date.getTime()) ? date : undefined,
    etag: etag && !etag.startsWith('W/') ? etag : undefined,
    contentType: res.headers.get('content-type') ?? undefined,
  };
}

function contentLength(res: Response): number | undefined {
  const length = res.headers.get('content-length');
  return length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
}

function parseContentRange(value: string | null): (ByteRange & { size?: number }) | undefined {
  const [, first, last, complete] = CONTENT_RANGE.exec(value?.trim() ?? '') ?? [];
  const [start, end, size] = [Number(first), Number(last), Number(complete)];
  if (!Number.isSafeInteger(start) || !Number.isSafeInteger(end) || start > end) return undefined;
  if (complete === '*') return { start, end };
  return Number.isSafeInteger(size) && end < size ? { start, end, size } : undefined;
}

/**
 * The default file name: the URL path with each run of percent-escapes decoded where it is
 * valid UTF-8 and kept as written where not, so `/%ff.txt` names `%ff.txt` instead of throwing.
 */
function decodePath(pathname: string): string {
  return pathname.replace(/(?:%[0-9a-f]{2})+/gi, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

function badOrigin(message: string): Error {
  return new StorageBadOriginError(DRIVER, message);
}

function originError(err: unknown, timedOut: boolean): unknown {
  if (err instanceof StorageError) return err;
  return timedOut
    ? new StorageOriginTimeoutError(DRIVER, { cause: err })
    : new StorageBadOriginError(DRIVER, 'unreachable', { cause: err });
}
