import type { Readable } from 'node:stream';
import {
  StorageInvalidNameError,
  StorageNotFoundError,
  StorageUnsupportedError,
} from '../errors.ts';
import { checkOptionKeys, type OptionKeys } from '../options.ts';
import type {
  ByteRange,
  OpenedFile,
  OpenFileOptions,
  OpenOptions,
  Storage,
  UrlPresentation,
} from '../storage.ts';
import {
  DOWNLOAD_FILE_OPTION_KEYS,
  DownloadFile,
  type DownloadFileOptions,
  type DownloadFileStat,
} from './download-file.ts';

/** Options of `StorageFile` (and of the route helpers that make one). */
export interface StorageFileOptions extends DownloadFileOptions {
  /**
   * Names with a segment starting with `.` (`.env`, `.git/config`, `a/.ssh/id_rsa`):
   * `'deny'` (default) answers them 404 without asking the storage, as send, koa-send and
   * @fastify/static do; `'allow'` serves them like any other name.
   */
  dotfiles?: 'deny' | 'allow';
  /**
   * Precompressed siblings to serve when the client accepts them, in order of preference:
   * `['br', 'gzip']` sends `report.csv.br` or `report.csv.gz`, when the storage holds it, as
   * `report.csv` with `Content-Encoding`, its own ETag, and ranges over the bytes sent. Every
   * answer then carries `Vary: Accept-Encoding`. Default: none (one stat more per request).
   */
  precompressed?: readonly PrecompressedEncoding[];
}

/** Encodings of precompressed siblings, and the extension each is stored under. */
export const PRECOMPRESSED_EXTENSIONS = {
  /** Brotli: `report.csv.br`. */
  br: '.br',
  /** gzip: `report.csv.gz`. */
  gzip: '.gz',
  /** Zstandard: `report.csv.zst`. */
  zstd: '.zst',
} as const;

/** An encoding a precompressed sibling may hold. */
export type PrecompressedEncoding = keyof typeof PRECOMPRESSED_EXTENSIONS;

/** The keys of `StorageFileOptions`, for helpers that accept them. */
export const STORAGE_FILE_OPTION_KEYS: OptionKeys<StorageFileOptions> = {
  ...DOWNLOAD_FILE_OPTION_KEYS,
  dotfiles: true,
  precompressed: true,
};

/**
 * Checks the `precompressed` option at set-up: known encodings, each once.
 *
 * @example
 * checkPrecompressed('storageDownload', ['br', 'gzip']);
 */
export function checkPrecompressed(
  where: string,
  value: unknown,
): readonly PrecompressedEncoding[] {
  if (value === undefined) return [];
  const known = Object.keys(PRECOMPRESSED_EXTENSIONS);
  const valid =
    Array.isArray(value) &&
    value.every((encoding) => known.includes(encoding)) &&
    new Set(value).size === value.length;
  if (!valid) {
    throw new TypeError(
      `${where} option "precompressed" must list distinct encodings among ${known.join(', ')}, got ${JSON.stringify(value)}`,
    );
  }
  return value as PrecompressedEncoding[];
}

/**
 * Checks the `dotfiles` option, so route helpers refuse a wrong value at set-up rather than on
 * every request.
 */
export function checkDotfiles(where: string, value: unknown): void {
  if (value !== undefined && value !== 'deny' && value !== 'allow') {
    throw new TypeError(
      `${where} option "dotfiles" must be 'deny' or 'allow', got ${String(value)}`,
    );
  }
}

/** A segment starting with a dot, at the start of the name or after any separator. */
const DOT_SEGMENT = /(?:^|[/\\])\./;

/**
 * A file held by a `Storage`, addressed by its name in that storage. Every access goes through
 * the storage, which confines the name to its root; a name with a dot segment is refused
 * first unless `dotfiles: 'allow'`.
 *
 * @example
 * router.get('/media/:name', (ctx) => { ctx.body = new StorageFile(storage, ctx.params.name); });
 */
export class StorageFile extends DownloadFile {
  /** The storage that holds the file and confines every access to its root. */
  readonly storage: Storage;
  /** The file's name in that storage, as the route gave it (not the download name). */
  readonly name: string;
  /** Set when the name is refused: every access rejects with it, before the storage is asked. */
  readonly #refused: StorageInvalidNameError | undefined;
  readonly #precompressed: readonly PrecompressedEncoding[];
  readonly #dotfiles: 'deny' | 'allow';

  constructor(storage: Storage, name: string, options: StorageFileOptions = {}) {
    if (typeof storage?.stat !== 'function' || typeof storage.open !== 'function') {
      throw new TypeError('StorageFile needs a Storage (an object with stat() and open())');
    }
    if (typeof name !== 'string') throw new TypeError('StorageFile name must be a string');
    checkOptionKeys(new.target.name, options, STORAGE_FILE_OPTION_KEYS);
    const { dotfiles = 'deny', precompressed, ...presentation } = options;
    checkDotfiles(new.target.name, dotfiles);
    super(name, presentation);
    this.#precompressed = checkPrecompressed(new.target.name, precompressed);
    this.#dotfiles = dotfiles;
    this.storage = storage;
    this.name = name;
    this.#refused =
      dotfiles === 'deny' && DOT_SEGMENT.test(name)
        ? new StorageInvalidNameError(storage.driver, name, 'dotfile (see option "dotfiles")')
        : undefined;
  }

  override get encodings(): readonly string[] {
    return this.#precompressed;
  }

  /**
   * The sibling `<name><extension>` when the storage holds it. Asked through the storage like
   * any name (confinement included); a missing or refused sibling means "send the original".
   */
  override async variant(encoding: string): Promise<DownloadFile | undefined> {
    this.#check();
    if (!(this.#precompressed as readonly string[]).includes(encoding)) return undefined;
    const variant = new EncodedVariant(this, encoding as PrecompressedEncoding, this.#dotfiles);
    try {
      await variant.stat();
      return variant;
    } catch (err) {
      if (err instanceof StorageNotFoundError || err instanceof StorageInvalidNameError) {
        return undefined;
      }
      throw err;
    }
  }

  override describeSource(): {
    /** The storage's driver label (`filesystem`, `memory`, `s3`, …). */
    readonly driver: string;
    /** The file's name in the storage. */
    readonly name: string;
  } {
    return { driver: this.storage.driver, name: this.name };
  }

  override async stat(): Promise<DownloadFileStat> {
    this.#check();
    return this.storage.stat(this.name);
  }

  override async open(range?: ByteRange, options?: OpenOptions): Promise<Readable> {
    this.#check();
    return this.storage.open(this.name, range, options);
  }

  override async openFile(options?: OpenFileOptions): Promise<OpenedFile | undefined> {
    this.#check();
    return this.storage.openFile?.(this.name, options);
  }

  override async localPath(): Promise<string | undefined> {
    this.#check();
    return unlessUnsupported(this.storage.path?.(this.name));
  }

  override async url(presentation?: UrlPresentation): Promise<string | undefined> {
    this.#check();
    return unlessUnsupported(this.storage.url?.(this.name, presentation));
  }

  #check(): void {
    if (this.#refused) throw this.#refused;
  }
}

/** Optional capabilities: absent or "unsupported" means "not offloadable this way", not a failure. */
async function unlessUnsupported(value: Promise<string> | undefined): Promise<string | undefined> {
  try {
    return await value;
  } catch (err) {
    if (err instanceof StorageUnsupportedError) return undefined;
    throw err;
  }
}

/**
 * A precompressed sibling sent in place of its original: the original's name and type, the
 * sibling's bytes and validators, and the encoding that says how to read them.
 */
class EncodedVariant extends StorageFile {
  readonly #encoding: PrecompressedEncoding;

  constructor(original: StorageFile, encoding: PrecompressedEncoding, dotfiles: 'deny' | 'allow') {
    super(original.storage, original.name + PRECOMPRESSED_EXTENSIONS[encoding], {
      filename: original.filename,
      attachment: original.attachment,
      contentType: original.contentType(),
      dotfiles,
    });
    this.#encoding = encoding;
  }

  override get contentEncoding(): string {
    return this.#encoding;
  }
}
