import type { Readable } from 'node:stream';
import { StorageUnsupportedError } from '../errors.ts';
import type { ByteRange, OpenedFile, OpenFileOptions, OpenOptions, Storage } from '../storage.ts';
import { DownloadFile, type DownloadFileOptions, type DownloadFileStat } from './download-file.ts';

/**
 * A file held by a `Storage`, addressed by its name in that storage.
 *
 * @example
 * router.get('/media/:name', (ctx) => { ctx.body = new StorageFile(storage, ctx.params.name); });
 */
export class StorageFile extends DownloadFile {
  readonly storage: Storage;
  readonly name: string;

  constructor(storage: Storage, name: string, options?: DownloadFileOptions) {
    if (typeof storage?.stat !== 'function' || typeof storage.open !== 'function') {
      throw new TypeError('StorageFile needs a Storage (an object with stat() and open())');
    }
    if (typeof name !== 'string') throw new TypeError('StorageFile name must be a string');
    super(name, options);
    this.storage = storage;
    this.name = name;
  }

  override stat(): Promise<DownloadFileStat> {
    return this.storage.stat(this.name);
  }

  override open(range?: ByteRange, options?: OpenOptions): Promise<Readable> {
    return this.storage.open(this.name, range, options);
  }

  override async openFile(options?: OpenFileOptions): Promise<OpenedFile | undefined> {
    return this.storage.openFile?.(this.name, options);
  }

  override localPath(): Promise<string | undefined> {
    return unlessUnsupported(this.storage.path(this.name));
  }

  override url(): Promise<string | undefined> {
    return unlessUnsupported(this.storage.url(this.name));
  }
}

/** Optional capabilities: "unsupported" means "not offloadable this way", not a failure. */
async function unlessUnsupported(value: Promise<string>): Promise<string | undefined> {
  try {
    return await value;
  } catch (err) {
    if (err instanceof StorageUnsupportedError) return undefined;
    throw err;
  }
}
