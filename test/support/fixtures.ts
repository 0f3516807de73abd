import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ByteRange, OpenedFile, Storage } from '../../src/storage.ts';

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
  const trackOpened = (file: OpenedFile): OpenedFile => {
    live++;
    let released = false;
    const release = () => {
      if (!released) live--;
      released = true;
    };
    return {
      stat: file.stat,
      read: (range) => file.read(range).finally(release),
      stream: (range) => {
        const stream = file.stream(range);
        stream.once('close', release);
        return stream;
      },
      close: () => {
        file.close();
        release();
      },
    };
  };
  const openFile = inner.openFile?.bind(inner);
  return {
    driver: inner.driver,
    ...(openFile && {
      openFile: async (name: string) => {
        opens++;
        return trackOpened(await openFile(name));
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
    exists: (name) => inner.exists(name),
    save: (name, content) => inner.save(name, content),
    delete: (name) => inner.delete(name),
    path: (name) => inner.path(name),
    url: (name) => inner.url(name),
  };
}
