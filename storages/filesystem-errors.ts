import {
  StorageInvalidNameError,
  StorageNotFoundError,
  StorageUnavailableError,
} from '../src/errors.ts';

/** The driver label of `FileSystemStorage` in errors. */
export const DRIVER = 'filesystem';

/**
 * Codes that mean "there is no such file to download". ENXIO: opening a Unix socket; like a
 * directory or a FIFO it is no file. ENAMETOOLONG: a segment over the filesystem's name limit
 * (255 bytes on most) or a path over PATH_MAX can name no file; it is the client's name that
 * is wrong, not the server (issue "No byte from outside the root").
 */
const NOT_FOUND = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'ENXIO', 'ENAMETOOLONG']);

/** Maps a filesystem error to the storage error a caller can act on; the original is `cause`. */
export function fail(err: unknown, name: string): never {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code !== undefined && NOT_FOUND.has(code)) {
    throw new StorageNotFoundError(DRIVER, name, { cause: err });
  }
  if (code === 'ELOOP')
    throw new StorageInvalidNameError(DRIVER, name, 'symbolic link loop', { cause: err });
  // Permission and I/O failures are the server's problem, not the client's: 503, logged.
  throw new StorageUnavailableError(
    DRIVER,
    `cannot access ${JSON.stringify(name)}: ${code ?? 'error'}`,
    { cause: err },
  );
}
