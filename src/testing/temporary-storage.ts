import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSystemStorage } from '../../storages/filesystem.ts';

/** A filesystem storage in a fresh temporary directory. */
export interface TemporaryStorage {
  /** The storage, ready to hand to routes or to `describeStorageContract`. */
  readonly storage: FileSystemStorage;
  /** The directory the storage lives in. */
  readonly location: string;
  /** Removes the directory and everything in it. */
  cleanup(): Promise<void>;
}

/**
 * A filesystem storage over a new temporary directory, holding `files`; call `cleanup()` in an
 * `after` hook. The counterpart of django-downloadview's `temporary_media_root`.
 *
 * @example
 * const tmp = await temporaryStorage({ 'a.txt': 'hello' });
 * after(() => tmp.cleanup());
 */
export async function temporaryStorage(
  files: Record<string, string | Uint8Array> = {},
  options: { baseUrl?: string } = {},
): Promise<TemporaryStorage> {
  const location = await mkdtemp(join(tmpdir(), 'koa-downloadview-'));
  const storage = new FileSystemStorage({ location, baseUrl: options.baseUrl });
  try {
    for (const [name, content] of Object.entries(files)) await storage.save(name, content);
  } catch (err) {
    await rm(location, { recursive: true, force: true });
    throw err;
  }
  return { storage, location, cleanup: () => rm(location, { recursive: true, force: true }) };
}
