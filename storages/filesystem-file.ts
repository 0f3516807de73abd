import { fstatSync, read } from 'node:fs';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { StorageChangedError, StorageNotFoundError } from '../src/errors.ts';
import type { ByteRange, OpenedFile, StorageStat } from '../src/storage.ts';
import { DRIVER, fail } from './filesystem-errors.ts';
import { FileSystemBody } from './filesystem-body.ts';
import { release } from './filesystem-descriptor.ts';

const readAt = promisify(read);

/*
 * Raw descriptors and synchronous fstat and close, on purpose: with a descriptor open, fstat
 * reads an inode already in memory and closing a read-only descriptor writes nothing back, so
 * neither waits on a disk; a thread-pool round trip costs the event loop more than either call.
 * Measured on 1 KiB files: 12.5k req/s with FileHandle and async fstat/close, see
 * docs/performance.md for the figures with these. Opens follow the storage's `lookups`
 * (filesystem-lookups.ts); reads of bytes, which can wait on a disk, stay asynchronous.
 */

/**
 * The metadata of the regular file open at `fd`. Anything else (a directory, a FIFO, a device)
 * is not found. On any error the descriptor is closed first, exactly once: a second close could
 * hit a descriptor number another open has been given since.
 */
export function regularFileStat(
  fd: number,
  name: string,
  { linked = false }: { linked?: boolean } = {},
): StorageStat {
  let info;
  try {
    info = fstatSync(fd);
  } catch (err) {
    release(fd);
    fail(err, name);
  }
  if (!info.isFile()) {
    release(fd);
    throw new StorageNotFoundError(DRIVER, name);
  }
  // A file removed, or replaced by a rename, since it was opened has no name left: Linux then
  // reports its path as "<path> (deleted)", which must never become an offload target (a file
  // of that name could be another one).
  if (linked && info.nlink === 0) {
    release(fd);
    throw new StorageChangedError(DRIVER, name, { cause: new Error('removed while opened') });
  }
  return { size: info.size, modified: info.mtime, changed: info.ctime };
}

/** A file of a `FileSystemStorage`, open: metadata and bytes from one descriptor. */
export class FileSystemOpenedFile implements OpenedFile {
  readonly stat: StorageStat;
  readonly #name: string;
  readonly #readChunkSize: number;
  #fd: number | undefined;

  constructor(fd: number, stat: StorageStat, name: string, readChunkSize: number) {
    this.#fd = fd;
    this.stat = stat;
    this.#name = name;
    this.#readChunkSize = readChunkSize;
  }

  async read(range?: ByteRange): Promise<Buffer> {
    const fd = this.#take();
    const start = range?.start ?? 0;
    const buffer = Buffer.allocUnsafe((range?.end ?? this.stat.size - 1) - start + 1);
    try {
      // A read may return fewer bytes than asked; zero means the file shrank since fstat.
      for (let filled = 0; filled < buffer.length;) {
        const { bytesRead } = await readAt(
          fd,
          buffer,
          filled,
          buffer.length - filled,
          start + filled,
        ).catch((err: unknown) => fail(err, this.#name));
        if (bytesRead === 0) throw new StorageChangedError(DRIVER, this.#name);
        filled += bytesRead;
      }
      return buffer;
    } finally {
      release(fd);
    }
  }

  async stream(range?: ByteRange): Promise<Readable> {
    // The body owns the descriptor from here: it closes it once it ends or is destroyed,
    // after any read still in flight.
    const fd = this.#take();
    const start = range?.start ?? 0;
    const end = range?.end ?? this.stat.size - 1;
    return new FileSystemBody(fd, this.#name, start, end, this.#readChunkSize);
  }

  close(): void {
    if (this.#fd !== undefined) release(this.#take());
  }

  #take(): number {
    const fd = this.#fd;
    if (fd === undefined)
      throw new Error(`${JSON.stringify(this.#name)} was already read or closed`);
    this.#fd = undefined;
    return fd;
  }
}
