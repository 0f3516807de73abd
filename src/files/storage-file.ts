import type { Readable } from 'node:stream';
import { StorageInvalidNameError, StorageUnsupportedError } from '../errors.ts';
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
}

/** The keys of `StorageFileOptions`, for helpers that accept them. */
export const STORAGE_FILE_OPTION_KEYS: OptionKeys<StorageFileOptions> = {
  ...DOWNLOAD_FILE_OPTION_KEYS,
  dotfiles: true,
};

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
  readonly storage: Storage;
  readonly name: string;
  /** Set when the name is refused: every access rejects with it, before the storage is asked. */
  readonly #refused: StorageInvalidNameError | undefined;

  constructor(storage: Storage, name: string, options: StorageFileOptions = {}) {
    if (typeof storage?.stat !== 'function' || typeof storage.open !== 'function') {
      throw new TypeError('StorageFile needs a Storage (an object with stat() and open())');
    }
    if (typeof name !== 'string') throw new TypeError('StorageFile name must be a string');
    checkOptionKeys(new.target.name, options, STORAGE_FILE_OPTION_KEYS);
    const { dotfiles = 'deny', ...presentation } = options;
    checkDotfiles(new.target.name, dotfiles);
    super(name, presentation);
    this.storage = storage;
    this.name = name;
    this.#refused =
      dotfiles === 'deny' && DOT_SEGMENT.test(name)
        ? new StorageInvalidNameError(storage.driver, name, 'dotfile (see option "dotfiles")')
        : undefined;
  }

  override describeSource(): { readonly driver: string; readonly name: string } {
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
