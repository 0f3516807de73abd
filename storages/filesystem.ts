import { constants, existsSync, open as openCallback, readlinkSync } from 'node:fs';
import { mkdir, open, realpath, rename, rm, stat, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import {
  StorageError,
  StorageInvalidNameError,
  StorageNotFoundError,
  StorageUnavailableError,
  StorageUnsupportedError,
} from '../src/errors.ts';
import { DRIVER, fail } from './filesystem-errors.ts';
import { FileSystemOpenedFile, release, statDescriptor } from './filesystem-file.ts';
import { joinUrl, normalizeName } from '../src/names.ts';
import { contentStream } from '../src/storage-content.ts';
import type {
  ByteRange,
  OpenedFile,
  OpenFileOptions,
  Storage,
  StorageContent,
  StorageStat,
} from '../src/storage.ts';

/**
 * Bytes read per chunk. Node's generic stream default (16 KiB on Node 20) halves throughput on
 * large files; 64 KiB matches the kernel's default read-ahead window. The benchmark
 * (`npm run bench`) is where this figure is checked.
 */
export const FILESYSTEM_READ_CHUNK_SIZE = 64 * 1024;

/** Options of `FileSystemStorage`. */
export interface FileSystemStorageOptions {
  /** The directory holding the files; every name resolves inside it. */
  location: string;
  /** The URL the files are published under, for `url()` (and nginx `sourceUrl` rules). */
  baseUrl?: string;
  /** Bytes read per chunk when streaming. Default `FILESYSTEM_READ_CHUNK_SIZE`. */
  readChunkSize?: number;
}

/**
 * O_NOFOLLOW: a last component that is a link is resolved and confined first (or, after
 * resolution, was swapped in since and is refused). O_NONBLOCK: a FIFO planted under the root
 * must not hang the open; it has no effect on regular files.
 */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Whether opening refuses a link as the last component (not on Windows). */
const REFUSES_LINKS = constants.O_NOFOLLOW !== undefined;

function inside(real: string, root: string): boolean {
  return real === root || real.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Where Linux lists a process's descriptors as links to what they opened. */
const PROC_FD =
  process.platform === 'linux' && existsSync('/proc/self/fd') ? '/proc/self/fd' : undefined;

/** `open(2)` to a plain descriptor: lighter than a FileHandle, which the hot path does not need. */
const openDescriptor = promisify(openCallback);

/**
 * Files in a local directory. Names are normalised first, then confined again here: the real
 * path (symlinks resolved) must stay inside the real root, and that same real path is what is
 * opened, so the check and the read can never see different files.
 *
 * @example
 * const storage = new FileSystemStorage({ location: '/srv/media', baseUrl: '/media/' });
 */
export class FileSystemStorage implements Storage {
  readonly driver = DRIVER;
  readonly location: string;
  readonly baseUrl: string | undefined;
  readonly readChunkSize: number;
  #realRoot: Promise<string> | undefined;

  constructor(options: FileSystemStorageOptions) {
    const { location, baseUrl, readChunkSize = FILESYSTEM_READ_CHUNK_SIZE } = options ?? {};
    if (typeof location !== 'string' || location === '') {
      throw new TypeError('FileSystemStorage option "location" must be a non-empty string');
    }
    if (baseUrl !== undefined && (typeof baseUrl !== 'string' || baseUrl === '')) {
      throw new TypeError('FileSystemStorage option "baseUrl" must be a non-empty string');
    }
    if (!Number.isSafeInteger(readChunkSize) || readChunkSize < 1) {
      throw new TypeError('FileSystemStorage option "readChunkSize" must be a positive integer');
    }
    this.location = resolve(location);
    this.baseUrl = baseUrl;
    this.readChunkSize = readChunkSize;
  }

  async stat(name: string): Promise<StorageStat> {
    const real = await this.#resolve(name);
    const info = await stat(real).catch((err: unknown) => fail(err, name));
    if (!info.isFile()) throw new StorageNotFoundError(DRIVER, name);
    return { size: info.size, modified: info.mtime };
  }

  async open(name: string, range?: ByteRange): Promise<Readable> {
    return (await this.openFile(name)).stream(range);
  }

  /** Opening a local file transfers nothing yet, so `whole` changes nothing here. */
  async openFile(name: string, _options?: OpenFileOptions): Promise<OpenedFile> {
    const fd = (await this.#openConfined(name)) ?? (await this.#openResolved(name));
    const stat = statDescriptor(fd, name);
    if (!stat) {
      release(fd);
      throw new StorageNotFoundError(DRIVER, name);
    }
    return new FileSystemOpenedFile(fd, stat, name, this.readChunkSize);
  }

  /**
   * Opens first, then confines the file the kernel actually opened, with no separate path
   * resolution (a thread-pool round trip and a lstat per directory) and no window between check
   * and open. A name of one segment needs no check at all: O_NOFOLLOW refuses a link as its only
   * component, so what opens is a file of the root itself. A deeper name is confined by the path
   * Linux reports for the descriptor (a readlink of /proc, about 9 µs of CPU per request, which
   * is why one-segment names skip it). `undefined` where neither can be done (no O_NOFOLLOW; no
   * /proc for a deeper name; a symbolic link as the last component): the caller resolves first.
   */
  async #openConfined(name: string): Promise<number | undefined> {
    const normal = normalizeName(name, DRIVER);
    const flat = REFUSES_LINKS && !normal.includes('/');
    if (!flat && !(REFUSES_LINKS && PROC_FD)) return undefined;
    let fd: number;
    try {
      fd = await openDescriptor(join(this.location, normal), OPEN_FLAGS);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') return undefined;
      fail(err, name);
    }
    if (flat) return fd;
    try {
      await this.#confine(readlinkSync(`${PROC_FD}/${fd}`), name);
    } catch (err) {
      release(fd);
      throw err instanceof StorageError ? err : fail(err, name);
    }
    return fd;
  }

  /** Resolves the real path (symbolic links followed), confines it, then opens it. */
  async #openResolved(name: string): Promise<number> {
    const real = await this.#resolve(name);
    return openDescriptor(real, OPEN_FLAGS).catch((err: unknown) => fail(err, name));
  }

  async exists(name: string): Promise<boolean> {
    try {
      await this.stat(name);
      return true;
    } catch (err) {
      if (err instanceof StorageNotFoundError) return false;
      throw err;
    }
  }

  async save(name: string, content: StorageContent): Promise<void> {
    const normal = normalizeName(name, DRIVER);
    const target = join(this.location, normal);
    await mkdir(dirname(target), { recursive: true }).catch((err: unknown) => fail(err, name));
    await this.#confine(await realpath(dirname(target)), name);
    // Written beside the target, then renamed: readers see the old file or the new one, whole.
    const temporary = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await pipeline(contentStream(content), (await open(temporary, 'wx')).createWriteStream());
      await rename(temporary, target);
    } catch (err) {
      await rm(temporary, { force: true });
      throw err instanceof StorageError ? err : fail(err, name);
    }
  }

  async delete(name: string): Promise<void> {
    await this.stat(name);
    await unlink(join(this.location, normalizeName(name, DRIVER))).catch((err: unknown) =>
      fail(err, name),
    );
  }

  path(name: string): Promise<string> {
    return this.#resolve(name);
  }

  async url(name: string): Promise<string> {
    const normal = normalizeName(name, DRIVER);
    if (this.baseUrl === undefined)
      throw new StorageUnsupportedError(DRIVER, 'url without baseUrl');
    return joinUrl(this.baseUrl, normal);
  }

  /** The real path of `name`, refused unless it lies inside the real root. */
  async #resolve(name: string): Promise<string> {
    const candidate = join(this.location, normalizeName(name, DRIVER));
    const real = await realpath(candidate).catch((err: unknown) => fail(err, name));
    await this.#confine(real, name);
    return real;
  }

  /**
   * Refuses `real` unless it lies inside the real root. The root's real path is kept, and
   * resolved again once before a refusal: a location reached through a symbolic link that a
   * deployment switched (`current -> releases/42`) then keeps serving the new target.
   */
  async #confine(real: string, name: string): Promise<void> {
    const cached = this.#realRoot;
    if (inside(real, await this.#root()) || (cached && inside(real, await this.#root(cached)))) {
      return;
    }
    throw new StorageInvalidNameError(DRIVER, name, 'resolves outside the storage location');
  }

  /** The real path of the location, resolved again when `stale` is the one kept. */
  #root(stale?: Promise<string>): Promise<string> {
    if (stale !== undefined && this.#realRoot === stale) this.#realRoot = undefined;
    this.#realRoot ??= realpath(this.location).catch((err: unknown) => {
      this.#realRoot = undefined;
      throw new StorageUnavailableError(DRIVER, 'the storage location cannot be read', {
        cause: err,
      });
    });
    return this.#realRoot;
  }
}
