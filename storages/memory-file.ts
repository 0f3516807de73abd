import { Readable } from 'node:stream';
import type { ByteRange, OpenedFile, StorageStat } from '../src/storage.ts';

/**
 * A file of a `MemoryStorage`, opened: the bytes it held at that moment. A later save replaces
 * the storage's entry, never these bytes, so metadata and bytes stay one version.
 */
export class MemoryOpenedFile implements OpenedFile {
  readonly stat: StorageStat;
  readonly #name: string;
  #bytes: Buffer | undefined;

  constructor(name: string, bytes: Buffer, stat: StorageStat) {
    this.#name = name;
    this.#bytes = bytes;
    this.stat = stat;
  }

  async read(range?: ByteRange): Promise<Buffer> {
    const bytes = this.#take();
    return range ? bytes.subarray(range.start, range.end + 1) : bytes;
  }

  async stream(range?: ByteRange): Promise<Readable> {
    return Readable.from([await this.read(range)], { objectMode: false });
  }

  close(): void {
    this.#bytes = undefined;
  }

  #take(): Buffer {
    const bytes = this.#bytes;
    if (bytes === undefined) {
      throw new Error(`${JSON.stringify(this.#name)} was already read or closed`);
    }
    this.#bytes = undefined;
    return bytes;
  }
}
