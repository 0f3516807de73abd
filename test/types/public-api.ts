// Type test of the public API, compiled (never run) by test/package/check-package.sh inside a
// fresh strict project that installed the packed tarball, once with the oldest TypeScript the
// package claims and once with the project's own. It fails if an import stops resolving, and
// if a type the user sees silently becomes `any` (what a missing @types package does under
// skipLibCheck): every `@ts-expect-error` below needs a real type to be an error.
import Koa from 'koa';
import type { HttpError } from 'http-errors';
import {
  downloadview,
  materialize,
  storageDownload,
  StorageFile,
  toHttpError,
  VirtualFile,
  type DownloadFile,
  type DownloadViewOptions,
  type StorageError,
  type Storage,
} from 'koa-downloadview';
import { FileSystemStorage } from 'koa-downloadview/storages/filesystem';
import { MemoryStorage } from 'koa-downloadview/storages/memory';
import type {
  assertDownload,
  describeStorageContract,
  temporaryStorage,
} from 'koa-downloadview/testing';

type IsAny<T> = 0 extends 1 & T ? true : false;
type Equal<A, B> =
  (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
/** Compiles only when its argument is `true`. */
export type Expect<T extends true> = T;

type Middleware = ReturnType<typeof downloadview>;
type MiddlewareContext = Parameters<Middleware>[0];

export type Checks = [
  Expect<Equal<IsAny<typeof downloadview>, false>>,
  Expect<Equal<IsAny<Middleware>, false>>,
  Expect<Equal<IsAny<MiddlewareContext>, false>>,
  Expect<Equal<IsAny<MiddlewareContext['body']>, false>>,
  Expect<Equal<MiddlewareContext['body'], unknown>>,
  Expect<Equal<IsAny<Koa.Context>, false>>,
  Expect<Equal<IsAny<ReturnType<typeof toHttpError>>, false>>,
  Expect<Equal<ReturnType<typeof toHttpError>, HttpError>>,
  Expect<Equal<IsAny<HttpError['status']>, false>>,
  Expect<Equal<IsAny<FileSystemStorage>, false>>,
  Expect<Equal<IsAny<typeof describeStorageContract>, false>>,
  Expect<Equal<IsAny<typeof assertDownload>, false>>,
  Expect<Equal<IsAny<typeof temporaryStorage>, false>>,
  Expect<Equal<ReturnType<typeof materialize>, Promise<StorageFile>>>,
];

const options: DownloadViewOptions = { backend: 'nginx', maxRanges: 4 };
const memory: Storage = new MemoryStorage({ files: { 'a.txt': 'a' } });
const disk = new FileSystemStorage({ location: '/srv/media', baseUrl: '/media/' });

const app = new Koa();
app.use(downloadview(options));
app.use(storageDownload({ storage: disk }));
app.use(async (ctx, next) => {
  await next();
  const file: DownloadFile = new StorageFile(memory, 'a.txt', { filename: 'A.txt' });
  ctx.body = file;
  ctx.body = new VirtualFile('hello', { name: 'hello.txt' });
});

const status: number = toHttpError(new Error('boom')).status;
const code: StorageError['code'] = 'ERR_STORAGE_NOT_FOUND';
export const used = [status, code];

// @ts-expect-error a misspelt backend name is refused
downloadview({ backend: 'ngnix' });
// @ts-expect-error an option that does not exist is refused
downloadview({ maxRange: 4 });
// @ts-expect-error a storage needs its options
new FileSystemStorage();
// @ts-expect-error a StorageFile needs a storage, not a path
new StorageFile('/srv/media', 'a.txt');
// @ts-expect-error toHttpError answers an HttpError, not a string
export const notString: string = toHttpError(new Error('boom'));
// @ts-expect-error materialize() needs a generate() that makes a DownloadFile
void materialize({ storage: memory, key: 'k', generate: () => 'text' });
