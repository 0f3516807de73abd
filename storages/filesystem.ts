/**
 * A `Storage` over a local directory, confined to it by the file the kernel opened.
 *
 * @packageDocumentation
 * @module koa-downloadview/storages/filesystem
 */
import { constants, existsSync, open as openCallback, openSync, readlinkSync } from 'node:fs';
import { mkdir, open, realpath, rename, rm, unlink } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve, sep } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import {
  StorageChangedError,
  StorageError,
  StorageInvalidNameError,
  StorageUnavailableError,
  StorageUnsupportedError,
} from '../src/errors.ts';
import { DRIVER, fail } from './filesystem-errors.ts';
import { release } from './filesystem-descriptor.ts';
import { FileSystemOpenedFile, regularFileStat } from './filesystem-file.ts';
import {
  FILESYSTEM_LOOKUPS,
  resolveLookups,
  type FileSystemLookups,
} from './filesystem-lookups.ts';
import { joinUrl, normalizeName } from '../src/names.ts';
import { checkOptionKeys, type OptionKeys } from '../src/options.ts';
import { contentStream } from '../src/storage-content.ts';
import {
  existsByStat,
  type ByteRange,
  type OpenedFile,
  type OpenFileOptions,
  type Storage,
  type StorageContent,
  type StorageStat,
} from '../src/storage.ts';

/**
 * Bytes read per chunk. Node's generic stream default (16 KiB on Node 20) halves throughput on
 * large files; 64 KiB matches the kernel's default read-ahead window. The benchmark
 * (`npm run bench`) is where this figure is checked.
 */
export const FILESYSTEM_READ_CHUNK_SIZE = 64 * 1024;

export type { FileSystemLookups } from './filesystem-lookups.ts';

/** Options of `FileSystemStorage`. */
export interface FileSystemStorageOptions {
  /** The directory holding the files; every name resolves inside it. */
  location: string;
  /** The URL the files are published under, for `url()` (and nginx `sourceUrl` rules). */
  baseUrl?: string;
  /** Bytes read per chunk when streaming. Default `FILESYSTEM_READ_CHUNK_SIZE`. */
  readChunkSize?: number;
  /**
   * Whether opening a name blocks the event loop (`'blocking'`, as nginx does) or goes through
   * the thread pool (`'thread-pool'`). Default `'auto'`: blocking unless a network, FUSE or
   * automounted filesystem is mounted (see `FileSystemLookups`).
   */
  lookups?: FileSystemLookups;
}

const OPTION_KEYS: OptionKeys<FileSystemStorageOptions> = {
  location: true,
  baseUrl: true,
  readChunkSize: true,
  lookups: true,
};

/**
 * O_NONBLOCK: a FIFO planted under the root must not hang the open; it has no effect on regular
 * files. O_NOCTTY: a link to a terminal must not become the process's controlling terminal,
 * even if it is refused a moment later.
 */
const FOLLOW_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOCTTY ?? 0);

/** O_NOFOLLOW as well: a link as the last component fails with ELOOP instead of being followed. */
const NOFOLLOW_FLAGS = FOLLOW_FLAGS | (constants.O_NOFOLLOW ?? 0);

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
 * Files in a local directory. Names are normalised first, then confined again here: what is
 * checked is the file the kernel opened (its descriptor's real path must lie inside the real
 * root), and that descriptor is what metadata and bytes are read from, so the check and the
 * read can never see different files.
 *
 * @example
 * const storage = new FileSystemStorage({ location: '/srv/media', baseUrl: '/media/' });
 */
export class FileSystemStorage implements Storage {
  readonly driver = DRIVER;
  /** The root directory, made absolute; every name is confined to its real path. */
  readonly location: string;
  /** The URL the root is published under, for `url()`; `undefined` when it is not published. */
  readonly baseUrl: string | undefined;
  /** Bytes read per chunk when streaming a file. */
  readonly readChunkSize: number;
  /** How names are looked up, `'auto'` resolved when the storage was made. */
  readonly lookups: 'blocking' | 'thread-pool';
  #realRoot: Promise<string> | undefined;

  constructor(options: FileSystemStorageOptions) {
    checkOptionKeys('FileSystemStorage', options, OPTION_KEYS);
    const {
      location,
      baseUrl,
      readChunkSize = FILESYSTEM_READ_CHUNK_SIZE,
      lookups = 'auto',
    } = options ?? {};
    if (typeof location !== 'string' || location === '') {
      throw new TypeError('FileSystemStorage option "location" must be a non-empty string');
    }
    if (baseUrl !== undefined && (typeof baseUrl !== 'string' || baseUrl === '')) {
      throw new TypeError('FileSystemStorage option "baseUrl" must be a non-empty string');
    }
    if (!Number.isSafeInteger(readChunkSize) || readChunkSize < 1) {
      throw new TypeError('FileSystemStorage option "readChunkSize" must be a positive integer');
    }
    if (!FILESYSTEM_LOOKUPS.includes(lookups)) {
      throw new TypeError(
        `FileSystemStorage option "lookups" must be one of ${FILESYSTEM_LOOKUPS.map((l) => `'${l}'`).join(', ')}, got ${JSON.stringify(lookups)}`,
      );
    }
    this.lookups = resolveLookups(lookups);
    this.location = resolve(location);
    this.baseUrl = baseUrl;
    this.readChunkSize = readChunkSize;
  }

  /** Answered from an opened, confined descriptor: the metadata is that of what was checked. */
  async stat(name: string): Promise<StorageStat> {
    const fd = await this.#open(name);
    const stat = regularFileStat(fd, name);
    release(fd);
    return stat;
  }

  async open(name: string, range?: ByteRange): Promise<Readable> {
    return (await this.openFile(name)).stream(range);
  }

  /** Opening a local file transfers nothing yet, so `whole` changes nothing here. */
  async openFile(name: string, _options?: OpenFileOptions): Promise<OpenedFile> {
    const fd = await this.#open(name);
    return new FileSystemOpenedFile(fd, regularFileStat(fd, name), name, this.readChunkSize);
  }

  /**
   * Opens `name` confined to the root. A name of one segment is opened with O_NOFOLLOW and
   * needs no check: a link as its only component fails with ELOOP, so what opens is a file of
   * the root itself, and the readlink of /proc (about 9 µs of CPU) is saved. Any other name,
   * and a one-segment link, is confined by what was opened.
   */
  async #open(name: string): Promise<number> {
    const normal = normalizeName(name, DRIVER);
    if (REFUSES_LINKS && !normal.includes('/')) {
      const fd = await this.#openUnfollowed(join(this.location, normal), name);
      if (fd !== undefined) return fd;
    }
    return (await this.#openChecked(name, normal)).fd;
  }

  /**
   * Opens `name` following links, then confines the file the kernel actually opened, by the
   * path Linux reports for the descriptor: there is no check of one path followed by an open of
   * another, so a directory swapped for a link in between is refused, never followed (issue "No
   * byte from outside the root"). The synchronous readlink of /proc costs no thread-pool trip.
   */
  async #openChecked(name: string, normal: string): Promise<{ fd: number; real: string }> {
    if (!PROC_FD) return this.#openResolved(name);
    const fd = await this.#openPath(join(this.location, normal), FOLLOW_FLAGS).catch(
      (err: unknown) => fail(err, name),
    );
    return { fd, real: await this.#confineDescriptor(fd, name) };
  }

  /** Opens with O_NOFOLLOW; `undefined` when the last component is a link (ELOOP). */
  async #openUnfollowed(path: string, name: string): Promise<number | undefined> {
    try {
      return await this.#openPath(path, NOFOLLOW_FLAGS);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ELOOP') return undefined;
      fail(err, name);
    }
  }

  /** open(2), on the event loop or through the thread pool as `lookups` says. */
  async #openPath(path: string, flags: number): Promise<number> {
    return this.lookups === 'blocking' ? openSync(path, flags) : openDescriptor(path, flags);
  }

  /** The real path of the file open at `fd`, refused (and `fd` closed) unless inside the root. */
  async #confineDescriptor(fd: number, name: string): Promise<string> {
    try {
      const real = readlinkSync(`${PROC_FD}/${fd}`);
      await this.#confine(real, name);
      return real;
    } catch (err) {
      release(fd);
      throw err instanceof StorageError ? err : fail(err, name);
    }
  }

  /**
   * The fallback where there is no /proc (macOS, the BSDs, Windows): nothing there tells what a
   * descriptor opened, so the real path is resolved, confined, and then opened (O_NOFOLLOW where
   * it exists). This cannot guarantee confinement against someone who can write inside the
   * root: a directory of that real path swapped for a link between the realpath and the open is
   * followed. One-segment names keep their O_NOFOLLOW open, which has no such window.
   */
  async #openResolved(name: string): Promise<{ fd: number; real: string }> {
    const real = await this.#resolve(name);
    const fd = await this.#openPath(real, NOFOLLOW_FLAGS).catch((err: unknown) => fail(err, name));
    return { fd, real };
  }

  async exists(name: string): Promise<boolean> {
    return existsByStat(this, name);
  }

  async save(name: string, content: StorageContent): Promise<void> {
    const normal = normalizeName(name, DRIVER);
    const target = join(this.location, normal);
    await mkdir(dirname(target), { recursive: true }).catch((err: unknown) => {
      // A segment of the name that is a file already: no directory can be made there.
      if (['EEXIST', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '')) {
        throw new StorageInvalidNameError(DRIVER, name, 'a segment names a file', { cause: err });
      }
      fail(err, name);
    });
    await this.#confine(await realpath(dirname(target)), name);
    // Written beside the target, then renamed: readers see the old file or the new one, whole.
    // A short dotfile name of its own (never served), so that a target name at the
    // filesystem's length limit still leaves room for it.
    const temporary = join(dirname(target), `.${randomBytes(6).toString('hex')}.tmp`);
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

  /**
   * The real path of the file, read from its opened and confined descriptor (then closed), so
   * an offload header names the path that was checked. A directory or FIFO is not found.
   */
  /**
   * The real path of `name`, read from the descriptor that was confined. The link count is
   * checked after that path was read: a file unlinked or replaced before then is opened again
   * (twice at most: a file replaced by a rename has its new version there), never named.
   */
  async path(name: string): Promise<string> {
    for (let attempt = 1; ; attempt++) {
      const { fd, real } = await this.#openChecked(name, normalizeName(name, DRIVER));
      try {
        regularFileStat(fd, name, { linked: true });
      } catch (err) {
        if (err instanceof StorageChangedError && attempt < 3) continue;
        throw err;
      }
      release(fd);
      return real;
    }
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
