import { StorageUnsupportedError, toHttpError } from '../errors.ts';
import type { DownloadFile } from '../files/download-file.ts';
import { StorageFile } from '../files/storage-file.ts';
import { debugFor } from '../debug.ts';
import { checkOptionKeys, type OptionKeys } from '../options.ts';
import type { Storage } from '../storage.ts';
import { copyToStorage, type WritableStorage } from './copy.ts';
import {
  materializedName,
  readMetadata,
  writeMetadata,
  type MaterializedMetadata,
} from './metadata.ts';
import { singleFlight } from './single-flight.ts';

const debug = debugFor('materialize');

/**
 * How long one generation may take, from calling `generate` to the last byte stored, unless
 * `timeout` says otherwise: 30 s, as `HttpFile` waits for an origin. The first request waits
 * for the whole generation, so the bound stays well under what a proxy waits for the app
 * (nginx's `proxy_read_timeout` is 60 s by default): the client gets the library's 504, not the
 * proxy's, and a generation that never ends does not hold its waiters for ever.
 */
export const DEFAULT_MATERIALIZE_TIMEOUT = 30_000;

/** Options of `materialize()`. */
export interface MaterializeOptions {
  /**
   * Where the copy is kept: a storage with `save()`. To let a proxy send it, use one a rule
   * offloads (a `FileSystemStorage` under the proxy's files directory, or S3 behind nginx).
   */
  storage: Storage;
  /**
   * The copy's name in that storage, chosen by the app: a content hash, a report id
   * (`reports/2026-q3.csv`). The same key must always mean the same content. Normalised like
   * every storage name; a hostile key, one with a segment starting with `.`, or one ending
   * with `.materialized.json` (where the metadata is kept) is refused with 404.
   */
  key: string;
  /**
   * Makes the file to store: a `VirtualFile`, an `HttpFile` or any `DownloadFile`. Called only
   * when the storage holds no complete copy, and once for concurrent requests in a process.
   * Its name, type and disposition are kept with the copy.
   */
  generate: () => DownloadFile | Promise<DownloadFile>;
  /** Milliseconds one generation may take before it fails with 504. Default 30 000. */
  timeout?: number;
}

const OPTION_KEYS: OptionKeys<MaterializeOptions> = {
  storage: true,
  key: true,
  generate: true,
  timeout: true,
};

/**
 * The stored copy of a generated or remote file, as a `StorageFile` a rule can offload: the
 * first call writes what `generate` makes into `storage` under `key`, later calls (in any
 * process sharing the storage) reuse it. Concurrent calls in one process share one generation;
 * across processes the worst case is the same copy written twice, each write atomic. The copy
 * is complete before this resolves, so even the first request is offloaded. A failed or timed
 * out generation leaves nothing behind and rejects with an `HttpError` from the library's one
 * error table (404 refused key, 502 bad origin, 504 timeout, 500 a generator's own error); a
 * client that leaves does not stop a generation others may be waiting for.
 *
 * @example
 * router.get('/reports/:id', async (ctx) => {
 *   ctx.body = await materialize({
 *     storage: cache,
 *     key: `reports/${ctx.params.id}.csv`,
 *     generate: () => new VirtualFile(rows(ctx.params.id), { name: `report-${ctx.params.id}.csv` }),
 *   });
 * });
 */
export async function materialize(options: MaterializeOptions): Promise<StorageFile> {
  const { storage, key, generate, timeout } = checkOptions(options);
  try {
    const name = materializedName(storage, key);
    const metadata =
      (await readMetadata(storage, name)) ??
      (await singleFlight(storage, name, () => generateOnce(storage, name, generate, timeout)));
    return new StorageFile(storage, name, metadata);
  } catch (err) {
    throw toHttpError(err);
  }
}

/**
 * One generation: the copy is looked for again first (a flight that ended between the first
 * look and this one wrote it), then the bytes are stored, then the metadata that marks them
 * complete. Metadata that cannot be written leaves bytes no reader trusts; they are removed.
 */
async function generateOnce(
  storage: WritableStorage,
  name: string,
  generate: MaterializeOptions['generate'],
  timeout: number,
): Promise<MaterializedMetadata> {
  const existing = await readMetadata(storage, name);
  if (existing) return existing;
  debug('generating %s in %s storage', name, storage.driver);
  const { file, stat } = await copyToStorage(generate, storage, name, timeout).catch(
    (err: unknown) => {
      debug('generating %s failed, nothing kept: %s', name, (err as Error)?.message);
      throw err;
    },
  );
  const metadata = {
    filename: file.filename,
    attachment: file.attachment,
    contentType: file.contentType(stat),
  };
  try {
    await writeMetadata(storage, name, metadata);
  } catch (err) {
    await storage.delete?.(name).catch(() => {});
    throw err;
  }
  return metadata;
}

function checkOptions(
  options: MaterializeOptions,
): MaterializeOptions & { storage: WritableStorage; timeout: number } {
  checkOptionKeys('materialize', options, OPTION_KEYS);
  const { storage, key, generate, timeout = DEFAULT_MATERIALIZE_TIMEOUT } = options ?? {};
  if (typeof storage?.open !== 'function' || typeof storage.stat !== 'function') {
    throw new TypeError('materialize option "storage" must be a Storage');
  }
  if (typeof storage.save !== 'function') {
    throw toHttpError(new StorageUnsupportedError(storage.driver, 'save, which materialize needs'));
  }
  if (typeof key !== 'string') throw new TypeError('materialize option "key" must be a string');
  if (typeof generate !== 'function') {
    throw new TypeError(
      'materialize option "generate" must be a function returning a DownloadFile',
    );
  }
  if (!Number.isSafeInteger(timeout) || timeout <= 0) {
    throw new TypeError('materialize option "timeout" must be a positive number of milliseconds');
  }
  return { storage: storage as WritableStorage, key, generate, timeout };
}
