import type { Context } from 'koa';
import createError from 'http-errors';
import {
  DOWNLOAD_FILE_OPTION_KEYS,
  DownloadFile,
  type DownloadFileOptions,
} from './files/download-file.ts';
import { HttpFile, type HttpFileOptions } from './files/http-file.ts';
import { PathFile } from './files/path-file.ts';
import {
  checkDotfiles,
  STORAGE_FILE_OPTION_KEYS,
  StorageFile,
  type StorageFileOptions,
} from './files/storage-file.ts';
import { VirtualFile, type VirtualContent } from './files/virtual-file.ts';
import { isMediaType } from './http/header-value.ts';
import { checkOptionKeys, type OptionKeys } from './options.ts';
import type { Storage } from './storage.ts';

/** A value fixed at set-up, or computed from each request. */
export type PerRequest<T> = T | ((ctx: Context) => T | Promise<T>);

/** A route handler: it only sets `ctx.body`; `downloadview()` does the rest. */
export type DownloadRoute = (ctx: Context) => Promise<void>;

/** Options of `storageDownload()`. */
export interface StorageDownloadOptions extends StorageFileOptions {
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
    storage: true,
    path: true,
  });
  const { storage, path = routeParam, ...presentation } = options;
  checkDotfiles('storageDownload', presentation.dotfiles);
  if (typeof storage?.open !== 'function') {
    throw new TypeError('storageDownload option "storage" must be a Storage');
  }
  return async function storageDownload(ctx) {
    ctx.body = new StorageFile(storage, await resolve(path, ctx), presentation);
  };
}

/** Options of `pathDownload()`. */
export interface PathDownloadOptions extends StorageFileOptions {
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
  checkOptionKeys('pathDownload', options, { ...STORAGE_FILE_OPTION_KEYS, path: true, root: true });
  const { path = routeParam, root, ...presentation } = options;
  checkDotfiles('pathDownload', presentation.dotfiles);
  if (typeof path !== 'string' && typeof root !== 'string') {
    throw new TypeError('pathDownload needs option "root" when the path comes from the request');
  }
  return async function pathDownload(ctx) {
    ctx.body = new PathFile(await resolve(path, ctx), { ...presentation, root });
  };
}

/** Options of `virtualDownload()`. */
export interface VirtualDownloadOptions extends DownloadFileOptions {
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
  const { content, name, ...rest } = options;
  return async function virtualDownload(ctx) {
    const resolved = { ...rest, name: await resolve(name, ctx) };
    ctx.body = new VirtualFile(await resolve(content, ctx), resolved);
  };
}

/** Options of `httpDownload()`. */
export interface HttpDownloadOptions extends HttpFileOptions {
  /** The origin URL of the file. */
  url: PerRequest<string | URL>;
}

const HTTP_DOWNLOAD_OPTION_KEYS: OptionKeys<HttpDownloadOptions> = {
  ...DOWNLOAD_FILE_OPTION_KEYS,
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
  const { url, ...rest } = options;
  return async function httpDownload(ctx) {
    ctx.body = new HttpFile(await resolve(url, ctx), rest);
  };
}

/** Options of `objectDownload()`. */
export interface ObjectDownloadOptions<R> extends StorageFileOptions {
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
  const { load, storage, field, filenameField, contentTypeField, ...presentation } = options;
  checkOptionKeys('objectDownload', options, {
    ...STORAGE_FILE_OPTION_KEYS,
    load: true,
    storage: true,
    field: true,
    filenameField: true,
    contentTypeField: true,
  });
  if (typeof load !== 'function')
    throw new TypeError('objectDownload option "load" must be a function');
  checkDotfiles('objectDownload', presentation.dotfiles);
  return async function objectDownload(ctx) {
    const record = await load(ctx);
    if (record == null) throw createError(404);
    const value = typeof field === 'function' ? field(record) : record[field];
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

function routeParam(ctx: Context): string {
  const value = (ctx as Context & { params?: Record<string, string | undefined> }).params?.path;
  if (typeof value !== 'string') throw createError(404);
  return value;
}

async function resolve<T>(value: PerRequest<T>, ctx: Context): Promise<T> {
  return typeof value === 'function' ? (value as (ctx: Context) => T | Promise<T>)(ctx) : value;
}
