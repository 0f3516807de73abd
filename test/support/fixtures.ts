import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import type { ByteRange, Storage } from '../../src/storage.ts';

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

/** A storage wrapper that counts `open()` calls and the streams still open. */
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
  return {
    driver: inner.driver,
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
