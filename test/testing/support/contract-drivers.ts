import { Readable } from 'node:stream';
import { StorageNotFoundError } from '../../../src/errors.ts';
import { normalizeName } from '../../../src/names.ts';
import type { ByteRange, Storage, StorageStat } from '../../../src/storage.ts';

/**
 * The least a driver can be: `stat` and `open`, over files held in memory. No `exists`,
 * `save`, `delete`, `path`, `url` or `openFile`: the contract must pass it, skipping those.
 */
export class ReadOnlyStorage implements Storage {
  readonly driver: string = 'read-only';
  readonly #files = new Map<string, Buffer>();
  readonly #modified = new Date('2026-01-02T03:04:05Z');

  constructor(files: Record<string, Uint8Array>) {
    for (const [name, bytes] of Object.entries(files)) this.#files.set(name, Buffer.from(bytes));
  }

  async stat(name: string): Promise<StorageStat> {
    return { size: this.#bytes(name).length, modified: this.#modified };
  }

  async open(name: string, range?: ByteRange): Promise<Readable> {
    return this.stream(this.#bytes(name), range);
  }

  /** The stream `open` hands out: the bytes of `range`. */
  protected stream(bytes: Buffer, range?: ByteRange): Readable {
    const slice = range ? bytes.subarray(range.start, range.end + 1) : bytes;
    return Readable.from([slice], { objectMode: false });
  }

  #bytes(name: string): Buffer {
    const normal = normalizeName(name, this.driver);
    const bytes = this.#files.get(normal);
    if (bytes === undefined) throw new StorageNotFoundError(this.driver, normal);
    return bytes;
  }
}

/** A driver with the classic bug: an inclusive end read as exclusive, one byte too many. */
export class OffByOneStorage extends ReadOnlyStorage {
  override readonly driver = 'off-by-one';

  protected override stream(bytes: Buffer, range?: ByteRange): Readable {
    const slice = range ? bytes.subarray(range.start, range.end + 2) : bytes;
    return Readable.from([slice], { objectMode: false });
  }
}

/** A driver whose streams never push a byte nor end: a lost callback, a stalled connection. */
export class HangingStorage extends ReadOnlyStorage {
  override readonly driver = 'hanging';

  protected override stream(): Readable {
    return new Readable({ read() {} });
  }
}
