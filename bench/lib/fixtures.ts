import { randomBytes } from 'node:crypto';
import { chmod, mkdir, open, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The files every contender serves, by role. */
export interface Fixtures {
  dir: string;
  small: { name: string; size: number };
  large: { name: string; size: number };
  huge: { name: string; size: number };
  /** Past 4 GiB and sparse: offsets beyond 32 bits at no cost in disk or time. */
  sparse: { name: string; size: number };
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
/** The first offset a 32-bit integer cannot hold. */
export const FOUR_GiB = 4 * GiB;

/**
 * Writes the benchmark's files once into a scratch directory outside the repository and
 * reuses them on later runs. Random bytes (1 MiB, repeated): no server can take a shortcut on
 * zeros or holes. World-readable, as nginx's unprivileged worker needs.
 */
export async function prepareFixtures(quick: boolean): Promise<Fixtures> {
  const dir = join(tmpdir(), quick ? 'koa-downloadview-bench-quick' : 'koa-downloadview-bench');
  await mkdir(dir, { recursive: true });
  await chmod(dir, 0o755);
  const fixtures: Fixtures = {
    dir,
    small: { name: 'small-1KiB.bin', size: 1024 },
    large: quick
      ? { name: 'large-8MiB.bin', size: 8 * MiB }
      : { name: 'large-256MiB.bin', size: 256 * MiB },
    huge: quick
      ? { name: 'huge-32MiB.bin', size: 32 * MiB }
      : { name: 'huge-1GiB.bin', size: 1024 * MiB },
    sparse: { name: 'sparse-64GiB.bin', size: 64 * GiB },
  };
  for (const file of [fixtures.small, fixtures.large, fixtures.huge]) {
    await ensureFile(join(dir, file.name), file.size);
  }
  await ensureSparseFile(join(dir, fixtures.sparse.name), fixtures.sparse.size);
  return fixtures;
}

/**
 * A file of `size` bytes that is holes except for a few KiB of random bytes: across the 4 GiB
 * boundary, past it, in the middle and at the end, where a tail range reads. Whatever a server
 * gets wrong about large offsets shows up there as wrong bytes, not as zeros that happen to
 * match.
 */
async function ensureSparseFile(path: string, size: number): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.size === size) return;
  const block = 4096;
  const handle = await open(path, 'w', 0o644);
  try {
    await handle.truncate(size);
    for (const offset of [FOUR_GiB - block / 2, FOUR_GiB + 12_345, size / 2, size - block]) {
      await handle.write(randomBytes(block), 0, block, offset);
    }
  } finally {
    await handle.close();
  }
  await chmod(path, 0o644);
}

async function ensureFile(path: string, size: number): Promise<void> {
  const existing = await stat(path).catch(() => undefined);
  if (existing?.size === size) return;
  const block = randomBytes(Math.min(size, MiB));
  const handle = await open(path, 'w', 0o644);
  try {
    for (let written = 0; written < size; written += block.length) {
      await handle.write(block, 0, Math.min(block.length, size - written));
    }
  } finally {
    await handle.close();
  }
  await chmod(path, 0o644);
}
