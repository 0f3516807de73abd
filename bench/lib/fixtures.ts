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
}

const MiB = 1024 * 1024;

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
  };
  for (const file of [fixtures.small, fixtures.large, fixtures.huge]) {
    await ensureFile(join(dir, file.name), file.size);
  }
  return fixtures;
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
