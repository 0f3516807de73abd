import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ByteRange, OpenedFile, OpenFileOptions, Storage } from '../../src/storage.ts';

/** 37 bytes whose every offset is recognisable in a failing assertion. */
export const HELLO = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz\n');

/** A temporary directory holding `files`, removed by `cleanup()`. */
export async function tempTree(
  files: Record<string, string | Uint8Array>,
): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'kdv-test-'));
  for (const [name, content] of Object.entries(files)) {
    await mkdir(dirname(join(dir, name)), { recursive: true });
    await writeFile(join(dir, name), content);
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Random bytes of the given size, for byte-for-byte comparisons. */
export function randomFile(size: number): Buffer {
  return randomBytes(size);
}

/** What `trackOpened` reports: each call made on the opened file, and its release, once. */
export interface OpenedFileHooks {
  called?(method: 'read' | 'stream' | 'close', range?: ByteRange): void;
  released(): void;
}

/**
 * `file`, reporting its calls and the moment it is released: read, stream closed, or close().
 */
export function trackOpened(file: OpenedFile, hooks: OpenedFileHooks): OpenedFile {
  let released = false;
  const release = () => {
    if (!released) hooks.released();
    released = true;
  };
  return {
    stat: file.stat,
    read: (range) => {
      hooks.called?.('read', range);
      return file.read(range).finally(release);
    },
    stream: async (range) => {
      hooks.called?.('stream', range);
      const stream = await file.stream(range).catch((err: unknown) => {
        release();
        throw err;
      });
      stream.once('close', release);
      return stream;
    },
    close: () => {
      hooks.called?.('close');
      file.close();
      release();
    },
  };
}

/**
 * A storage wrapper that counts `open()` and `openFile()` calls, and the streams and opened
 * files not yet released. It offers `openFile` only where the wrapped storage does, so the
 * streaming backend takes the same path through it as through the storage itself.
 */
export interface CountingStorage extends Storage {
  readonly opens: number;
  readonly liveStreams: number;
}

export function countingStorage(inner: Storage): CountingStorage {
  let opens = 0;
  let live = 0;
  const track = (stream: Readable): Readable => {
    live++;
    stream.once('close', () => live--);
    return stream;
  };
  const openFile = inner.openFile?.bind(inner);
  return {
    driver: inner.driver,
    ...(openFile && {
      openFile: async (name: string, options?: OpenFileOptions) => {
        opens++;
        // Counted live once it is open: a refused name (404) has nothing to release.
        const opened = await openFile(name, options);
        live++;
        return trackOpened(opened, { released: () => live-- });
      },
    }),
    get opens() {
      return opens;
    },
    get liveStreams() {
      return live;
    },
    stat: (name) => inner.stat(name),
    open: async (name, range?: ByteRange) => {
      opens++;
      return track(await inner.open(name, range));
    },
    exists: (name) => inner.exists!(name),
    save: (name, content) => inner.save!(name, content),
    delete: (name) => inner.delete!(name),
    path: (name) => inner.path!(name),
    url: (name) => inner.url!(name),
  };
}
