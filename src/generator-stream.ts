import { Readable } from 'node:stream';

/**
 * A byte stream over an async generator whose destruction runs `release` first. An async
 * generator parked on `await` cannot run its `finally` until that await settles, so a stream
 * it is reading must be destroyed from outside for the generator, and its resources, to end.
 *
 * @example
 * const body = generatorStream(parts(), () => current?.destroy());
 */
export function generatorStream(generator: AsyncGenerator<Buffer>, release: () => void): Readable {
  const stream = Readable.from(generator, { objectMode: false });
  const destroy = stream._destroy.bind(stream);
  stream._destroy = (error, callback) => {
    release();
    destroy(error, callback);
  };
  return stream;
}
