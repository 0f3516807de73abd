import type { Readable } from 'node:stream';
import { posix } from 'node:path';
import mime from 'mime-types';
import { BoundedCache } from '../bounded-cache.ts';
import { isMediaType } from '../http/header-value.ts';
import { checkOptionKeys, type OptionKeys } from '../options.ts';
import type {
  ByteRange,
  OpenedFile,
  OpenFileOptions,
  OpenOptions,
  UrlPresentation,
} from '../storage.ts';

/** Presentation options shared by every kind of download. */
export interface DownloadFileOptions {
  /** The name the user sees (Content-Disposition). Defaults to the file's own base name. */
  filename?: string;
  /** `true` (default): save as a file. `false`: display inline, still naming the file. */
  attachment?: boolean;
  /** The media type. Defaults to the storage's record, else a guess from the file name. */
  contentType?: string;
}

/** What is known about a file's bytes before reading them. */
export interface DownloadFileStat {
  /** Size in bytes; `undefined` for generated content of unknown length (no ranges then). */
  size?: number;
  /** When the bytes last changed; the source of Last-Modified. */
  modified?: Date;
  /** A strong entity tag known to the source (S3, memory); else one is derived. */
  etag?: string;
  /** The media type the source recorded, if any; used only when it is a valid one. */
  contentType?: string;
  /**
   * When the file's record last changed (a filesystem's ctime), if the source knows it: it
   * changes with every write, even one that puts the old mtime back (`touch -d`, `rsync -t`,
   * `cp -p`), so caches of derived data (content hashes) are keyed by it too.
   */
  changed?: Date;
}

/** The keys of `DownloadFileOptions`, for subclasses that add their own. */
export const DOWNLOAD_FILE_OPTION_KEYS: OptionKeys<DownloadFileOptions> = {
  filename: true,
  attachment: true,
  contentType: true,
};

const FALLBACK_TYPE = 'application/octet-stream';

/**
 * One thing to download and how to present it. A route puts one in `ctx.body`;
 * `downloadview()` decides how the bytes travel. Subclasses supply the I/O.
 *
 * @example
 * router.get('/report', (ctx) => { ctx.body = new PathFile('/srv/report.pdf'); });
 */
export abstract class DownloadFile {
  /** The name the user sees, as sent in Content-Disposition. */
  readonly filename: string;
  /** `true`: the browser saves the file; `false`: it displays it inline. */
  readonly attachment: boolean;
  readonly #contentType: string | undefined;

  protected constructor(defaultName: string, options: DownloadFileOptions = {}) {
    checkOptions(new.target.name, options);
    this.filename = options.filename ?? (posix.basename(defaultName) || 'download');
    this.attachment = options.attachment ?? true;
    this.#contentType = options.contentType;
  }

  /** Whether byte ranges can be served: sources with random access say yes. */
  get rangeable(): boolean {
    return true;
  }

  /**
   * Encodings this file may also be sent in, from precompressed siblings, in the server's order
   * of preference (`['br', 'gzip']`). Empty: the file is always sent as it is.
   */
  get encodings(): readonly string[] {
    return [];
  }

  /** The Content-Encoding of these bytes: set on a precompressed variant, else `undefined`. */
  get contentEncoding(): string | undefined {
    return undefined;
  }

  /**
   * The same file precompressed in `encoding` (one of `encodings`), or `undefined` when its
   * source holds no such variant. The variant keeps this file's name and type.
   */
  async variant(_encoding: string): Promise<DownloadFile | undefined> {
    return undefined;
  }

  /** Metadata; rejects with a `StorageError` (not found, …) before any byte is read. */
  abstract stat(): Promise<DownloadFileStat>;

  /**
   * The bytes, whole or one inclusive range; resolves once the source is open. `ifMatch`
   * pins the read to the version `stat()` described, where the source can (see `OpenOptions`).
   */
  abstract open(range?: ByteRange, options?: OpenOptions): Promise<Readable>;

  /**
   * Metadata and bytes from one lookup, where the source offers it (`Storage.openFile`);
   * `undefined` otherwise, and the streaming backend then uses `stat()` and `open()`.
   */
  async openFile(_options?: OpenFileOptions): Promise<OpenedFile | undefined> {
    return undefined;
  }

  /** The absolute local path, for X-Sendfile style offload; `undefined` when there is none. */
  async localPath(): Promise<string | undefined> {
    return undefined;
  }

  /**
   * A URL the bytes can be fetched from, for rules and redirect offload; `undefined` when there
   * is none. With `presentation`, a source that signs URLs (S3) signs the download's name and
   * type into it, so a client sent there gets them from the storage.
   */
  async url(_presentation?: UrlPresentation): Promise<string | undefined> {
    return undefined;
  }

  /**
   * Where the bytes come from, for errors and logs: a storage's driver label and the name in
   * it, or for other kinds the class and the file name.
   */
  describeSource(): {
    /** The storage's driver label, or the class name for other kinds. */
    readonly driver: string;
    /** The file's name in its storage, or its download name. */
    readonly name: string;
  } {
    return { driver: this.constructor.name, name: this.filename };
  }

  /**
   * The Content-Type to send: the explicit option, else the source's record when it is a valid
   * media type (a stored value is not trusted to be one), else a guess from the file name's
   * extension alone. `mime-types` adds a charset only to text types, never to binary ones.
   */
  contentType(stat: DownloadFileStat = {}): string {
    if (this.#contentType !== undefined) return this.#contentType;
    if (stat.contentType && isMediaType(stat.contentType)) return stat.contentType;
    return typeFromExtension(this.filename);
  }

  /**
   * A DownloadFile must never be serialised as JSON: that would leak storage internals, or be
   * compressed or hashed as if it were the download. It happens when `downloadview()` is
   * missing, or when a middleware between it and the route reads the body (koa-compress reads
   * its length, koa-etag hashes it); `downloadview()` rewrites the message in that case.
   */
  toJSON(): never {
    throw new DownloadFileSerializedError();
  }
}

/**
 * Thrown when a DownloadFile is read as JSON instead of being delivered. Koa answers 500.
 */
export class DownloadFileSerializedError extends TypeError {
  /** Stable code to match on, never the message text. */
  readonly code = 'ERR_DOWNLOAD_FILE_SERIALIZED';

  constructor(
    message = 'a DownloadFile reached the response without downloadview(): add app.use(downloadview()) before your routes',
  ) {
    super(message);
    this.name = 'DownloadFileSerializedError';
  }
}

/**
 * Only the extension is looked up: `mime-types` reads any string holding a `/` as a media type,
 * so a name like `Invoice 2024/001.pdf` would otherwise become the Content-Type itself.
 */
/**
 * Content types by extension, since a lookup with its charset costs about a microsecond per
 * download. Bounded: extensions come from names that requests choose.
 */
const typesByExtension = new BoundedCache<string, string>(256);

function typeFromExtension(filename: string): string {
  const extension = posix.extname(filename.slice(filename.lastIndexOf('/') + 1));
  if (extension === '') return FALLBACK_TYPE;
  let type = typesByExtension.get(extension);
  if (type === undefined) {
    const found = mime.lookup(extension);
    type = (found && mime.contentType(found)) || FALLBACK_TYPE;
    typesByExtension.set(extension, type);
  }
  return type;
}

function checkOptions(where: string, options: DownloadFileOptions): void {
  checkOptionKeys(where, options, DOWNLOAD_FILE_OPTION_KEYS);
  const { filename, attachment, contentType } = options;
  if (filename !== undefined && (typeof filename !== 'string' || filename === '')) {
    throw new TypeError('DownloadFile option "filename" must be a non-empty string');
  }
  if (attachment !== undefined && typeof attachment !== 'boolean') {
    throw new TypeError('DownloadFile option "attachment" must be a boolean');
  }
  if (contentType !== undefined && (typeof contentType !== 'string' || !isMediaType(contentType))) {
    throw new TypeError(
      `DownloadFile option "contentType" must be a media type such as text/csv, got ${JSON.stringify(contentType)}`,
    );
  }
}
