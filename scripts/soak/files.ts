import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** One file the soak serves, with its bytes kept in memory to check every answer against. */
export interface SoakFile {
  name: string;
  bytes: Buffer;
  sha256: string;
}

/** The files of the issue: empty, tiny, medium, and one large enough to stream for a while. */
const SIZES: Record<string, number> = {
  'empty.bin': 0,
  '1k.bin': 1024,
  '1m.bin': 1024 * 1024,
  '64m.bin': 64 * 1024 * 1024,
};

export function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Writes the soak's files (random bytes) to `<workDir>/files`. Files are world-readable and the
 * directories searchable, because nginx workers drop to an unprivileged user.
 */
export async function writeSoakFiles(workDir: string): Promise<{ dir: string; files: SoakFile[] }> {
  const dir = join(workDir, 'files');
  await mkdir(dir);
  await chmod(workDir, 0o755);
  await chmod(dir, 0o755);
  const files = Object.entries(SIZES).map(([name, size]) => {
    const bytes = randomBytes(size);
    return { name, bytes, sha256: sha256(bytes) };
  });
  for (const file of files) await writeFile(join(dir, file.name), file.bytes, { mode: 0o644 });
  return { dir, files };
}
