import {
  checkDotfiles,
  checkPrecompressed,
  STORAGE_FILE_OPTION_KEYS,
  type StorageFileOptions,
} from '../files/storage-file.ts';
import { CACHE_OPTION_KEYS, takeCacheOptions, type CacheOptions } from '../cache-control.ts';
import { checkOptionKeys } from '../options.ts';
import {
  resolvePerRequest,
  routeParam,
  type DownloadRoute,
  type PerRequest,
} from '../per-request.ts';
import { PathFile } from './path-file.ts';

/** Options of `pathDownload()`. */
export interface PathDownloadOptions extends StorageFileOptions, CacheOptions {
  /** The file's path; relative paths are taken under `root`. Default: the router param `path`. */
  path?: PerRequest<string>;
  /** The directory requests are confined to. Required when the path comes from the request. */
  root?: string;
}

/**
 * A route that downloads a local file. A path computed from the request is confined to `root`:
 * `..`, absolute paths, NUL bytes and symlinks out of it answer 404.
 *
 * @example
 * router.get('/exports/*path', pathDownload({ root: '/srv/exports' }));
 */
export function pathDownload(options: PathDownloadOptions): DownloadRoute {
  checkOptionKeys('pathDownload', options, {
    ...STORAGE_FILE_OPTION_KEYS,
    ...CACHE_OPTION_KEYS,
    path: true,
    root: true,
  });
  const { cache, rest } = takeCacheOptions('pathDownload', options);
  const { path = routeParam, root, ...presentation } = rest;
  checkDotfiles('pathDownload', presentation.dotfiles);
  checkPrecompressed('pathDownload', presentation.precompressed);
  if (typeof path !== 'string' && typeof root !== 'string') {
    throw new TypeError('pathDownload needs option "root" when the path comes from the request');
  }
  return async function pathDownload(ctx) {
    ctx.body = new PathFile(await resolvePerRequest(path, ctx), { ...presentation, root });
    if (cache) ctx.set('Cache-Control', cache);
  };
}
