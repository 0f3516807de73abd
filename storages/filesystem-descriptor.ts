import { closeSync } from 'node:fs';

/** Closes a read-only descriptor; an error here cannot have lost data, so none is raised. */
export function release(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // EBADF or EIO on a read-only descriptor: nothing to recover, the descriptor is gone.
  }
}
