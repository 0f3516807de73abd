import { Transform, type Readable, type TransformCallback } from 'node:stream';
import { StorageBadOriginError, StorageError, StorageOriginTimeoutError } from '../errors.ts';
import { DownloadFile, type DownloadFileStat } from '../files/download-file.ts';
import { HttpFile } from '../files/http-file.ts';
import type { Storage } from '../storage.ts';

/** A storage that can write: what a copy is saved into. */
export type WritableStorage = Storage & Required<Pick<Storage, 'save'>>;

/**
 * Copies the whole of the file `generate` makes into `storage` under `name`, through the
 * driver's `save()`, whose write is atomic (a temporary name renamed, a single PUT, a multipart
 * upload completed or aborted): the name holds the old copy or the new one, whole, never a
 * part. Resolves with the file and its source's metadata. Past `timeout` ms, counted from the
 * call to `generate`, the copy is cut off and rejects with a 504 error. A source that fails,
 * or sends another length than it declared, fails the save, which then leaves nothing behind;
 * a remote origin's failure is a 502.
 *
 * @example
 * const { stat } = await copyToStorage(() => new HttpFile(url), storage, 'cache/a.pdf', 30_000);
 */
export async function copyToStorage(
  generate: () => DownloadFile | Promise<DownloadFile>,
  storage: WritableStorage,
  name: string,
  timeout: number,
): Promise<{ file: DownloadFile; stat: DownloadFileStat }> {
  let expire: (() => void) | undefined;
  const expired = new Promise<never>((_, reject) => {
    expire = () =>
      reject(new StorageOriginTimeoutError('materialize', { cause: tooLong(name, timeout) }));
  });
  expired.catch(() => {});
  const timer = setTimeout(() => expire?.(), timeout);
  try {
    const opening = generateAndOpen(generate);
    const { file, stat, source } = await Promise.race([opening, expired]).catch((err: unknown) => {
      // A source that opens after the deadline is released at once, never left open.
      void opening.then(
        ({ source: late }) => late.destroy(),
        () => {},
      );
      throw err;
    });
    await saveStream(file, stat, source, storage, name, expired);
    return { file, stat };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Pipes `source` into `save()` through a stream this module owns: on the deadline or a source
 * error that stream fails at once, so the driver's save fails and cleans up even when the
 * source itself cannot be stopped (a generator parked on an `await` that never settles).
 */
async function saveStream(
  file: DownloadFile,
  stat: DownloadFileStat,
  source: Readable,
  storage: WritableStorage,
  name: string,
  expired: Promise<never>,
): Promise<void> {
  const counted = new LengthCheck(stat.size, file);
  // The first failure of the copy (the source's, a wrong length, the deadline) is what the
  // caller hears, not the driver's wrapping of it. Listening also keeps an error raised before
  // the driver reads (it may await a directory, a temporary file) on the stream, where the
  // save finds it, instead of crashing the process as an unheard 'error' event.
  let failure: Error | undefined;
  counted.on('error', (err) => (failure ??= err));
  source.once('error', (err) => counted.destroy(sourceFailure(file, err)));
  expired.catch((err: unknown) => {
    counted.destroy(err as Error);
    source.destroy();
  });
  source.pipe(counted);
  try {
    await storage.save(name, counted);
  } catch (err) {
    source.destroy();
    throw failure ?? err;
  }
}

/** The generated file, its metadata and a stream of every byte. */
async function generateAndOpen(
  generate: () => DownloadFile | Promise<DownloadFile>,
): Promise<{ file: DownloadFile; stat: DownloadFileStat; source: Readable }> {
  const file = await generate();
  if (!(file instanceof DownloadFile)) {
    throw new TypeError('materialize option "generate" must return a DownloadFile');
  }
  return { file, ...(await openWhole(file)) };
}

/** Metadata and a stream of every byte: one GET for an `HttpFile`, else stat then open. */
async function openWhole(
  file: DownloadFile,
): Promise<{ stat: DownloadFileStat; source: Readable }> {
  const opened = await file.openFile({ whole: true });
  if (opened) {
    try {
      return { stat: opened.stat, source: await opened.stream() };
    } catch (err) {
      opened.close();
      throw err;
    }
  }
  const stat = await file.stat();
  return { stat, source: await file.open() };
}

/**
 * Passes bytes on and fails at the end when their count differs from the declared size: a
 * copy shorter or longer than its source said is never stored as complete.
 */
class LengthCheck extends Transform {
  #seen = 0;
  readonly #expected: number | undefined;
  readonly #file: DownloadFile;

  constructor(expected: number | undefined, file: DownloadFile) {
    super();
    this.#expected = expected;
    this.#file = file;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.#seen += chunk.length;
    done(null, chunk);
  }

  override _flush(done: TransformCallback): void {
    const expected = this.#expected;
    if (expected === undefined || expected === this.#seen) return done();
    done(sourceFailure(this.#file, new Error(`sent ${this.#seen} bytes, declared ${expected}`)));
  }
}

/** A remote origin's failure is a bad origin (502); a storage error keeps its own status. */
function sourceFailure(file: DownloadFile, err: Error): Error {
  if (err instanceof StorageError || !(file instanceof HttpFile)) return err;
  return new StorageBadOriginError('http', `body failed: ${err.message}`, {
    cause: err,
  });
}

function tooLong(name: string, timeout: number): Error {
  return new Error(`materializing ${JSON.stringify(name)} took over ${timeout} ms`);
}
