import type { Context } from 'koa';
import createError from 'http-errors';
import {
  DOWNLOAD_FILE_OPTION_KEYS,
  DownloadFile,
  type DownloadFileOptions,
} from './files/download-file.ts';
import { HttpFile, type HttpFileOptions } from './files/http-file.ts';
import {
  checkDotfiles,
  checkPrecompressed,
  STORAGE_FILE_OPTION_KEYS,
  StorageFile,
  type StorageFileOptions,
} from './files/storage-file.ts';
import { VirtualFile, type VirtualContent } from './files/virtual-file.ts';
import { isMediaType } from './http/header-value.ts';
import { CACHE_OPTION_KEYS, takeCacheOptions, type CacheOptions } from './cache-control.ts';
import { checkOptionKeys, type OptionKeys } from './options.ts';
import {
  resolvePerRequest,
  routeParam,
  type DownloadRoute,
  type PerRequest,
} from './per-request.ts';

import type { Storage } from './storage.ts';

export type { DownloadRoute, PerRequest } from './per-request.ts';
export type { CacheOptions } from './cache-control.ts';

/** Options of `storageDownload()`. */
export interface StorageDownloadOptions extends StorageFileOptions, CacheOptions {
  /** The storage the route serves files from, shared by every request. */
  storage: Storage;
  /** The name in the storage. Default: the router parameter `path` (`/files/*path`). */
  path?: PerRequest<string>;
}

/**
 * A route that downloads a file from a storage.
 *
 * @example
 * router.get('/media/*path', storageDownload({ storage }));
 */
export function storageDownload(options: StorageDownloadOptions): DownloadRoute {
  checkOptionKeys('storageDownload', options, {
    ...STORAGE_FILE_OPTION_KEYS,
    ...CACHE_OPTION_KEYS,
    storage: true,
    path: true,
  });
  const { cache, rest } = takeCacheOptions('storageDownload', options);
  const { storage, path = routeParam, ...presentation } = rest;
  checkDotfiles('storageDownload', presentation.dotfiles);
  checkPrecompressed('storageDownload', presentation.precompressed);
  if (typeof storage?.open !== 'function') {
    throw new TypeError('storageDownload option "storage" must be a Storage');
  }
  return async function storageDownload(ctx) {
    ctx.body = new StorageFile(storage, await resolvePerRequest(path, ctx), presentation);
    if (cache) ctx.set('Cache-Control', cache);
  };
}

/** Options of `virtualDownload()`. */
export interface VirtualDownloadOptions extends DownloadFileOptions, CacheOptions {
  /** The content, usually generated per request. */
  content: PerRequest<VirtualContent>;
  /** The file name the user sees. */
  name: PerRequest<string>;
  /** Byte count of streamed content, when known. */
  size?: number;
  /** When the content last changed (Last-Modified, If-Modified-Since). */
  modified?: Date;
  /** A strong entity tag, quoted, when the generator knows one. */
  etag?: string;
}

const VIRTUAL_DOWNLOAD_OPTION_KEYS: OptionKeys<VirtualDownloadOptions> = {
  ...DOWNLOAD_FILE_OPTION_KEYS,
  ...CACHE_OPTION_KEYS,
  content: true,
  name: true,
  size: true,
  modified: true,
  etag: true,
};

/**
 * A route that downloads content the app generates.
 *
 * @example
 * router.get('/hello.txt', virtualDownload({ name: 'hello.txt', content: 'Hello world\n' }));
 */
export function virtualDownload(options: VirtualDownloadOptions): DownloadRoute {
  checkOptionKeys('virtualDownload', options, VIRTUAL_DOWNLOAD_OPTION_KEYS);
  const { cache, rest: fileOptions } = takeCacheOptions('virtualDownload', options);
  const { content, name, ...rest } = fileOptions;
  return async function virtualDownload(ctx) {
    const resolved = { ...rest, name: await resolvePerRequest(name, ctx) };
    ctx.body = new VirtualFile(await resolvePerRequest(content, ctx), resolved);
    if (cache) ctx.set('Cache-Control', cache);
  };
}

/** Options of `httpDownload()`. */
export interface HttpDownloadOptions extends HttpFileOptions, CacheOptions {
  /** The origin URL of the file. */
  url: PerRequest<string | URL>;
}

const HTTP_DOWNLOAD_OPTION_KEYS: OptionKeys<HttpDownloadOptions> = {
  ...DOWNLOAD_FILE_OPTION_KEYS,
  ...CACHE_OPTION_KEYS,
  url: true,
  timeout: true,
  headers: true,
};

/**
 * A route that streams a file from another HTTP server through Koa.
 *
 * @example
 * router.get('/mirror/:id', httpDownload({ url: (ctx) => `https://origin.internal/files/${ctx.params.id}` }));
 */
export function httpDownload(options: HttpDownloadOptions): DownloadRoute {
  checkOptionKeys('httpDownload', options, HTTP_DOWNLOAD_OPTION_KEYS);
  const { cache, rest: fileOptions } = takeCacheOptions('httpDownload', options);
  const { url, ...rest } = fileOptions;
  return async function httpDownload(ctx) {
    ctx.body = new HttpFile(await resolvePerRequest(url, ctx), rest);
    if (cache) ctx.set('Cache-Control', cache);
  };
}

/** Options of `objectDownload()`. */
export interface ObjectDownloadOptions<R> extends StorageFileOptions, CacheOptions {
  /** Loads the record for this request; `undefined` or `null` answers 404. */
  load: (ctx: Context) => R | undefined | null | Promise<R | undefined | null>;
  /** The storage the record's file names refer to. */
  storage?: Storage;
  /** The record's file: a field holding a storage name or a DownloadFile, or a function. */
  field: (keyof R & string) | ((record: R) => string | DownloadFile | undefined | null);
  /** A field holding the name the user sees. */
  filenameField?: keyof R & string;
  /** A field holding the media type. */
  contentTypeField?: keyof R & string;
}

/**
 * A route that downloads the file a record holds (a row's attachment, an invoice's PDF). A
 * missing record or an empty file field answers 404.
 *
 * @example
 * router.get('/invoices/:id', objectDownload({ load: (ctx) => db.invoice(ctx.params.id), storage, field: 'pdf' }));
 */
export function objectDownload<R>(options: ObjectDownloadOptions<R>): DownloadRoute {
  checkOptionKeys('objectDownload', options, {
    ...STORAGE_FILE_OPTION_KEYS,
    ...CACHE_OPTION_KEYS,
    load: true,
    storage: true,
    field: true,
    filenameField: true,
    contentTypeField: true,
  });
  const { cache, rest } = takeCacheOptions('objectDownload', options);
  const { load, storage, field, filenameField, contentTypeField, ...presentation } = rest;
  if (typeof load !== 'function')
    throw new TypeError('objectDownload option "load" must be a function');
  checkDotfiles('objectDownload', presentation.dotfiles);
  checkPrecompressed('objectDownload', presentation.precompressed);
  return async function objectDownload(ctx) {
    const record = await load(ctx);
    if (record == null) throw createError(404);
    const value = typeof field === 'function' ? field(record) : record[field];
    if (cache) ctx.set('Cache-Control', cache);
    if (value instanceof DownloadFile) {
      ctx.body = value;
      return;
    }
    if (typeof value !== 'string' || value === '') throw createError(404);
    if (!storage) throw new TypeError('objectDownload needs option "storage" for a file name');
    ctx.body = new StorageFile(storage, value, {
      ...presentation,
      filename: stringField(record, filenameField) ?? presentation.filename,
      // A type stored with the record is data, not set-up: one that is no media type is
      // ignored (the extension decides), instead of failing the download.
      contentType: mediaTypeField(record, contentTypeField) ?? presentation.contentType,
    });
  };
}

function stringField<R>(record: R, field: (keyof R & string) | undefined): string | undefined {
  const value = field === undefined ? undefined : record[field];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function mediaTypeField<R>(record: R, field: (keyof R & string) | undefined): string | undefined {
  const value = stringField(record, field);
  return value !== undefined && isMediaType(value) ? value : undefined;
}
