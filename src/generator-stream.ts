import { Readable } from 'node:stream';
import type { ByteRange } from './storage.ts';

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

/**
 * Passes on only the bytes of `range` from `source`, whose first byte is at offset
 * `firstByte`, then ends and destroys `source` (closing its connection). For origins that
 * ignore or widen a requested Range: the prefix is read and dropped, never buffered. A source
 * that ends before the last byte of `range` makes the stream fail, never end clean but short:
 * a declared Content-Length is then cut off, not left to look complete.
 *
 * @example
 * sliceStream(wholeFileStream, { start: 100, end: 199 });
 */
export function sliceStream(source: Readable, range: ByteRange, firstByte = 0): Readable {
  async function* slice(): AsyncGenerator<Buffer> {
    let offset = firstByte;
    try {
      for await (const chunk of source as AsyncIterable<Buffer>) {
        const from = Math.max(range.start - offset, 0);
        const to = Math.min(range.end + 1 - offset, chunk.length);
        offset += chunk.length;
        if (to > from) yield chunk.subarray(from, to);
        if (offset > range.end) return;
      }
      if (offset <= range.end) {
        throw new Error(`source ended at byte ${offset}, before byte ${range.end} of the range`);
      }
    } finally {
      source.destroy();
    }
  }
  return generatorStream(slice(), () => source.destroy());
}
