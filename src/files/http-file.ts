import createError from 'http-errors';
import { Readable } from 'node:stream';
import { sliceStream } from '../generator-stream.ts';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { StorageChangedError, StorageError, StorageNotFoundError } from '../errors.ts';
import type { ByteRange, OpenOptions } from '../storage.ts';
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
 * A file served by another HTTP server, streamed through Koa: the counterpart of
 * django-downloadview's HTTPDownloadView. Metadata comes from a HEAD request; reads send the
 * byte range to the origin. An origin 404 answers 404, a 5xx or unreachable origin 502, a
 * slow one 504; nothing is ever buffered whole, and a client that leaves closes the origin
 * connection.
 *
 * @example
 * ctx.body = new HttpFile('https://files.internal/reports/2026.pdf', { timeout: 5000 });
 */
export class HttpFile extends DownloadFile {
  readonly source: URL;
  readonly #timeout: number;
  readonly #headers: Record<string, string>;

  constructor(url: string | URL, options: HttpFileOptions = {}) {
    const source = new URL(url);
    if (source.protocol !== 'http:' && source.protocol !== 'https:') {
      throw new TypeError(`HttpFile needs an http(s) URL, got ${source.protocol}`);
    }
    const { timeout = DEFAULT_TIMEOUT, headers = {}, ...presentation } = options;
    super(decodeURIComponent(source.pathname), presentation);
    if (!Number.isSafeInteger(timeout) || timeout <= 0) {
      throw new TypeError('HttpFile option "timeout" must be a positive number of milliseconds');
    }
    this.source = source;
    this.#timeout = timeout;
    this.#headers = headers;
  }

  override async stat(): Promise<DownloadFileStat> {
    const res = await this.#request('HEAD');
    const length = res.headers.get('content-length');
    const modified = res.headers.get('last-modified');
    const etag = res.headers.get('etag');
    return {
      size: length !== null && /^\d+$/.test(length) ? Number(length) : undefined,
      modified: modified ? new Date(modified) : undefined,
      etag: etag && !etag.startsWith('W/') ? etag : undefined,
      contentType: res.headers.get('content-type') ?? undefined,
    };
  }

  /** With `ifMatch` the origin is asked for that version only; its 412 means it changed. */
  override async open(range?: ByteRange, options?: OpenOptions): Promise<Readable> {
    const headers: Record<string, string> = {};
    if (range) headers['Range'] = `bytes=${range.start}-${range.end}`;
    if (options?.ifMatch) headers['If-Match'] = options.ifMatch;
    const res = await this.#request('GET', headers);
    const body = Readable.fromWeb(res.body as WebReadableStream<Uint8Array>);
    // An origin that ignores Range answers 200 with everything: the range is cut out here.
    return range && res.status === 200 ? sliceStream(body, range) : body;
  }

  override async url(): Promise<string> {
    return this.source.href;
  }

  async #request(method: string, extra: Record<string, string> = {}): Promise<Response> {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.#timeout);
    try {
      const res = await fetch(this.source, {
        method,
        headers: { ...this.#headers, ...extra },
        signal: abort.signal,
        redirect: 'follow',
      });
      if (res.status === 404 || res.status === 410) {
        await res.body?.cancel();
        throw new StorageNotFoundError(DRIVER, this.source.pathname);
      }
      if (res.status === 412 && extra['If-Match'] !== undefined) {
        await res.body?.cancel();
        throw new StorageChangedError(DRIVER, this.source.pathname);
      }
      if (res.status !== 200 && res.status !== 206) {
        await res.body?.cancel();
        throw createError(502, `origin answered ${res.status}`, { expose: false });
      }
      if (method === 'GET' && !res.body) throw createError(502, 'origin sent no body');
      return res;
    } catch (err) {
      throw originError(err, abort.signal.aborted);
    } finally {
      clearTimeout(timer);
    }
  }
}

function originError(err: unknown, timedOut: boolean): unknown {
  if (err instanceof StorageError || createError.isHttpError(err)) return err;
  return timedOut
    ? createError(504, 'origin timed out', { cause: err, expose: false })
    : createError(502, 'origin unreachable', { cause: err, expose: false });
}
