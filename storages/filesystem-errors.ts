import {
  StorageInvalidNameError,
  StorageNotFoundError,
  StorageUnavailableError,
} from '../src/errors.ts';

/** The driver label of `FileSystemStorage` in errors. */
export const DRIVER = 'filesystem';

/** Maps a filesystem error to the storage error a caller can act on; the original is `cause`. */
export function fail(err: unknown, name: string): never {
  const code = (err as NodeJS.ErrnoException)?.code;
  // ENXIO: opening a Unix socket; like a directory or a FIFO it is no file to download.
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENXIO') {
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
