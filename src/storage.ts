import type { Readable } from 'node:stream';
import { StorageNotFoundError } from './errors.ts';

/** An inclusive byte range, as in `Content-Range: bytes start-end/size` (RFC 9110 §14.4). */
export interface ByteRange {
  /** Offset of the first byte, from 0. */
  readonly start: number;
  /** Offset of the last byte, included (not one past it). */
  readonly end: number;
}

/** How `Storage.open()` reads. */
export interface OpenOptions {
  /**
   * Read only the version of the file with this ETag (from `stat()`), so the bytes sent belong
   * to the metadata the response was planned from. Drivers that know ETags reject with
   * `StorageChangedError` when the file has another one; drivers without ETags ignore it.
   */
  readonly ifMatch?: string;
}

/** How `Storage.openFile()` is used. */
export interface OpenFileOptions {
  /**
   * The caller means to read the whole file (a GET with no Range and no conditional header).
   * A driver whose open starts a transfer (S3) may then fetch metadata and bytes in one
   * request; without it, such a driver fetches metadata only and reads on demand.
   */
  readonly whole?: boolean;
}

/** What a storage knows about one stored file. */
export interface StorageStat {
  /** Size in bytes. */
  readonly size: number;
  /** Last modification time. */
  readonly modified: Date;
  /** A strong entity tag, quoted (`"abc"`), when the storage knows one (S3, memory). */
  readonly etag?: string;
  /** The media type recorded with the file, when the storage keeps one. */
  readonly contentType?: string;
  /**
   * When the file's record last changed (ctime), for drivers that know it: every write moves
   * it, even one that restores the mtime. Keys caches of data derived from the bytes.
   */
  readonly changed?: Date;
}

/**
 * A file opened once for reading: its metadata and its bytes come from the same open file, so
 * they describe one version even if the name is replaced meanwhile. It is consumed once:
 * `read()` or `stream()` hands the bytes over and releases the file when done; `close()`
 * releases a file that is not read.
 */
export interface OpenedFile {
  /** The metadata of the opened file, read from the same open file as its bytes. */
  readonly stat: StorageStat;
  /**
   * The whole file or one inclusive range, in memory: for small bodies only, where one read
   * and one write beat a stream. Rejects with `StorageChangedError` if the file shrank.
   */
  read(range?: ByteRange): Promise<Buffer>;
  /**
   * A stream of the whole file or one inclusive range, once the bytes can flow (a driver that
   * reads over the network has its answer by then); destroying it releases the file.
   */
  stream(range?: ByteRange): Promise<Readable>;
  /** Releases the file without reading it. Safe to call again, and after read or stream. */
  close(): void;
}

/**
 * How a download presents itself, for storages whose URLs carry it: S3 signs a presigned URL
 * with `response-content-disposition` and `response-content-type`, so the bytes fetched from it
 * (by a redirected browser) arrive under the download's name and type. The caller formats the
 * values once, as it does for the headers it sends itself.
 */
export interface UrlPresentation {
  /** A complete Content-Disposition value (`attachment; filename="…"; filename*=…`). */
  readonly contentDisposition: string;
  /** A complete Content-Type value. */
  readonly contentType: string;
}

/** Content that `Storage.save()` accepts. */
export type StorageContent =
  | string
  | Uint8Array
  | Readable
  | Iterable<Uint8Array | string>
  | AsyncIterable<Uint8Array | string>;

/**
 * Where bytes live. A storage knows names, metadata and how to read a byte range; it knows
 * nothing of HTTP. Every method receives a name relative to the storage root, with `/` as
 * separator; names are normalised by `normalizeName()` before they reach a driver, and each
 * driver confines them again.
 *
 * Every method rejects with a `StorageError` subclass, never a bare error:
 * `StorageNotFoundError` for a missing name, `StorageInvalidNameError` for a name that is
 * hostile or leads outside the root, `StorageUnsupportedError` for an optional capability the
 * driver lacks, `StorageUnavailableError` when the backing service cannot be reached, and
 * `StorageChangedError` when a read pinned with `ifMatch` finds another version.
 *
 * @example
 * const storage = new FileSystemStorage({ location: '/srv/media', baseUrl: '/media/' });
 * const { size } = await storage.stat('reports/2026.pdf');
 */
export interface Storage {
  /** A short label naming the driver in errors and logs, e.g. `filesystem`. */
  readonly driver: string;
  /** Metadata of `name`. Rejects with `StorageNotFoundError` when it does not exist. */
  stat(name: string): Promise<StorageStat>;
  /**
   * A readable stream of the whole file or of one inclusive byte range. Resolves only once the
   * file is known to exist and is open, so a missing name rejects before any stream is handed
   * out. Destroying the stream releases every resource it holds.
   */
  open(name: string, range?: ByteRange, options?: OpenOptions): Promise<Readable>;
  /**
   * Optional: metadata and bytes from one lookup. The streaming backend prefers it to `stat()`
   * then `open()` for GET requests where a driver offers it: on a filesystem it saves a path
   * resolution, a stat and, for small files, the stream; on S3 a plain download is one
   * GetObject instead of HeadObject then GetObject (docs/performance.md has the figures).
   * Rejects as `open()` does.
   */
  openFile?(name: string, options?: OpenFileOptions): Promise<OpenedFile>;
  /**
   * Optional: whether `name` exists. Rejects only for invalid names or an unavailable service.
   * A read-only driver may leave out every optional method; the library then treats the
   * capability as unsupported, and the contract suite skips its block.
   */
  exists?(name: string): Promise<boolean>;
  /** Optional: stores `content` under `name`, replacing any previous file. */
  save?(name: string, content: StorageContent): Promise<void>;
  /** Optional: removes `name`. Rejects with `StorageNotFoundError` when it does not exist. */
  delete?(name: string): Promise<void>;
  /**
   * Optional: the absolute local filesystem path of `name` (symlinks resolved), for X-Sendfile
   * style offload. Absent, or rejecting with `StorageUnsupportedError`: files have no local
   * path, and they are not offloaded by `sourceDir` rules.
   */
  path?(name: string): Promise<string>;
  /**
   * Optional: a URL for `name`: the configured base URL with each name segment
   * percent-encoded, or a signed URL. A storage that signs URLs signs `presentation` into it
   * when given; others ignore it. Absent, or rejecting with `StorageUnsupportedError`: the
   * storage has no URLs, and its files are not offloaded by `sourceUrl` rules nor redirected.
   */
  url?(name: string, presentation?: UrlPresentation): Promise<string>;
}

/**
 * `exists()` for drivers that know a file by its metadata: true when `stat()` resolves, false
 * when it rejects as not found; any other failure (invalid name, unavailable) is thrown.
 *
 * @example
 * class MyStorage implements Storage { exists(name: string) { return existsByStat(this, name); } }
 */
export async function existsByStat(storage: Pick<Storage, 'stat'>, name: string): Promise<boolean> {
  try {
    await storage.stat(name);
    return true;
  } catch (err) {
    if (err instanceof StorageNotFoundError) return false;
    throw err;
  }
}
