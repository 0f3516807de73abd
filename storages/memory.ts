/**
 * A `Storage` held in process memory: for tests, demos and small generated sets of files.
 *
 * @packageDocumentation
 * @module koa-downloadview/storages/memory
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  StorageChangedError,
  StorageNotFoundError,
  StorageUnsupportedError,
} from '../src/errors.ts';
import { joinUrl, normalizeName } from '../src/names.ts';
import { checkOptionKeys, type OptionKeys } from '../src/options.ts';
import { contentBytes } from '../src/storage-content.ts';
import { MemoryOpenedFile } from './memory-file.ts';
import type {
  ByteRange,
  OpenedFile,
  OpenFileOptions,
  OpenOptions,
  Storage,
  StorageContent,
  StorageStat,
} from '../src/storage.ts';

const DRIVER = 'memory';

/** Options of `MemoryStorage`. */
export interface MemoryStorageOptions {
  /** The URL the files are published under, for `url()`. */
  baseUrl?: string;
  /** Initial files, by name. Strings are stored as UTF-8. */
  files?: Record<string, string | Uint8Array>;
}

const OPTION_KEYS: OptionKeys<MemoryStorageOptions> = { baseUrl: true, files: true };

interface StoredFile {
  readonly bytes: Buffer;
  readonly modified: Date;
  readonly etag: string;
}

/**
 * Files held in memory: for tests, generated artefacts and demos. Each file carries a strong
 * ETag from a hash of its content, made once when it is saved. There is no local path.
 *
 * @example
 * const storage = new MemoryStorage({ files: { 'hello.txt': 'Hello!\n' } });
 */
export class MemoryStorage implements Storage {
  readonly driver = DRIVER;
  /** The URL the files are published under, for `url()`; `undefined` when they are not. */
  readonly baseUrl: string | undefined;
  readonly #files = new Map<string, StoredFile>();

  constructor(options: MemoryStorageOptions = {}) {
    checkOptionKeys('MemoryStorage', options, OPTION_KEYS);
    const { baseUrl, files = {} } = options;
    if (baseUrl !== undefined && (typeof baseUrl !== 'string' || baseUrl === '')) {
      throw new TypeError('MemoryStorage option "baseUrl" must be a non-empty string');
    }
    if (typeof files !== 'object' || files === null) {
      throw new TypeError('MemoryStorage option "files" must be an object of names to contents');
    }
    this.baseUrl = baseUrl;
    for (const [name, content] of Object.entries(files)) this.#store(name, toBuffer(content));
  }

  async stat(name: string): Promise<StorageStat> {
    const { bytes, modified, etag } = this.#get(name);
    return { size: bytes.length, modified, etag };
  }

  /** The bytes and metadata of one version, without a copy; `whole` changes nothing here. */
  async openFile(name: string, _options?: OpenFileOptions): Promise<OpenedFile> {
    const { bytes, modified, etag } = this.#get(name);
    return new MemoryOpenedFile(name, bytes, { size: bytes.length, modified, etag });
  }

  async open(name: string, range?: ByteRange, options?: OpenOptions): Promise<Readable> {
    const { bytes, etag } = this.#get(name);
    const wanted = options?.ifMatch;
    if (wanted !== undefined && wanted !== etag) throw new StorageChangedError(DRIVER, name);
    const view = range ? bytes.subarray(range.start, range.end + 1) : bytes;
    return Readable.from([view], { objectMode: false });
  }

  async exists(name: string): Promise<boolean> {
    return this.#files.has(normalizeName(name, DRIVER));
  }

  async save(name: string, content: StorageContent): Promise<void> {
    const normal = normalizeName(name, DRIVER);
    this.#store(normal, await contentBytes(content));
  }

  async delete(name: string): Promise<void> {
    this.#get(name);
    this.#files.delete(normalizeName(name, DRIVER));
  }

  async path(name: string): Promise<string> {
    normalizeName(name, DRIVER);
    throw new StorageUnsupportedError(DRIVER, 'path: files in memory have no local path');
  }

  async url(name: string): Promise<string> {
    const normal = normalizeName(name, DRIVER);
    if (this.baseUrl === undefined)
      throw new StorageUnsupportedError(DRIVER, 'url without baseUrl');
    return joinUrl(this.baseUrl, normal);
  }

  #get(name: string): StoredFile {
    const file = this.#files.get(normalizeName(name, DRIVER));
    if (!file) throw new StorageNotFoundError(DRIVER, name);
    return file;
  }

  #store(name: string, bytes: Buffer): void {
    const etag = `"${createHash('sha256').update(bytes).digest('base64url').slice(0, 27)}"`;
    this.#files.set(normalizeName(name, DRIVER), { bytes, modified: new Date(), etag });
  }
}

function toBuffer(content: string | Uint8Array): Buffer {
  return typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
}
