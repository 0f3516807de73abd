import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { StorageChangedError } from '../src/errors.ts';
import type { ByteRange, OpenedFile, StorageStat } from '../src/storage.ts';

/** Reads of one object version: `Storage.open()` pinned with If-Match to the stat's ETag. */
export type PinnedReader = (range?: ByteRange) => Promise<Readable>;

/**
 * An S3 object, opened: either its whole body is already arriving (GetObject answered a
 * plain download, metadata from the same response), or only its metadata is known (HeadObject)
 * and each read is a GetObject pinned to that version.
 */
export class S3OpenedFile implements OpenedFile {
  readonly stat: StorageStat;
  readonly #name: string;
  readonly #readPinned: PinnedReader;
  #body: Readable | undefined;
  #taken = false;

  constructor(name: string, stat: StorageStat, readPinned: PinnedReader, body?: Readable) {
    this.#name = name;
    this.stat = stat;
    this.#readPinned = readPinned;
    this.#body = body;
  }

  async read(range?: ByteRange): Promise<Buffer> {
    const bytes = await buffer(await this.stream(range));
    const expected = range ? range.end - range.start + 1 : this.stat.size;
    // A body cut short without a network error is an object that changed under the read.
    if (bytes.length !== expected) throw new StorageChangedError('s3', this.#name);
    return bytes;
  }

  async stream(range?: ByteRange): Promise<Readable> {
    if (this.#taken) throw new Error(`${JSON.stringify(this.#name)} was already read or closed`);
    this.#taken = true;
    const body = this.#body;
    this.#body = undefined;
    if (body && !this.#isPartial(range)) return body;
    // A part of an object fetched whole: the rest of that transfer is dropped, not read.
    body?.destroy();
    return this.#readPinned(range);
  }

  close(): void {
    this.#taken = true;
    // An unread body holds a pooled connection until it is consumed or destroyed.
    this.#body?.destroy();
    this.#body = undefined;
  }

  #isPartial(range: ByteRange | undefined): boolean {
    return range !== undefined && (range.start !== 0 || range.end !== this.stat.size - 1);
  }
}
