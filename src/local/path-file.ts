import { isAbsolute, relative, resolve } from 'node:path';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { BoundedCache } from '../bounded-cache.ts';
import { StorageFile, type StorageFileOptions } from '../files/storage-file.ts';

/** Options of `PathFile`. */
export interface PathFileOptions extends StorageFileOptions {
  /**
   * Confine the path to this directory: a path built from the request can then never reach a
   * file outside it (`..`, absolute paths, NUL, symlinks out of the root all answer 404).
   * Without `root` the path is trusted as given, except that a segment starting with `.`
   * anywhere in it is refused unless `dotfiles: 'allow'`.
   */
  root?: string;
}

/**
 * A file on the local filesystem, by path. It reuses the filesystem storage's confinement and
 * descriptor handling, so both kinds refuse and read files the same way.
 *
 * @example
 * ctx.body = new PathFile(ctx.params.name, { root: '/srv/exports' });
 */
export class PathFile extends StorageFile {
  /** The path as given to the constructor, before it is resolved or confined. */
  readonly path: string;

  constructor(path: string, options: PathFileOptions = {}) {
    if (typeof path !== 'string') throw new TypeError('PathFile path must be a string');
    const { root, ...presentation } = options;
    if (root === undefined) {
      // Trusted path: the storage root is `/`, so `..` is resolved here, once, by the caller's
      // own choice, and symlinks are followed wherever they lead.
      const absolute = resolve(path);
      super(storageAt('/'), absolute.slice(1), presentation);
    } else {
      super(storageAt(root), nameUnderRoot(path, root), presentation);
    }
    this.path = path;
  }
}

/** Roots whose storage is kept; roots computed per request (per user, say) stay bounded. */
const storages = new BoundedCache<string, FileSystemStorage>(100);

/**
 * The storage for a root, shared by every PathFile under it: a storage resolves its root's
 * real path once and keeps it, so a request under a known root does not resolve it again.
 */
function storageAt(root: string): FileSystemStorage {
  // Anything but a non-empty string gets the storage's own TypeError.
  if (typeof root !== 'string' || root === '') return new FileSystemStorage({ location: root });
  const location = resolve(root);
  let storage = storages.get(location);
  if (storage === undefined) {
    storage = new FileSystemStorage({ location });
    storages.set(location, storage);
  }
  return storage;
}

/**
 * An absolute path is made relative to the root (it may then start with `..`, which the storage
 * refuses); a relative one is passed as it is, so the storage sees and refuses any `..` in it.
 */
function nameUnderRoot(path: string, root: string): string {
  return isAbsolute(path) ? relative(resolve(root), path) : path;
}
