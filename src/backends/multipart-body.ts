import type { Readable } from 'node:stream';
import { generatorStream } from '../generator-stream.ts';
import type { MultipartPlan } from '../http/multipart.ts';
import type { ByteRange } from '../storage.ts';

/**
 * The body described by `plan`. Each range is opened only when reached, one at a time, and
 * read with backpressure; destroying the body destroys the part being read, and a failure to
 * open or read a part destroys the body with that error. The plan's Content-Length counts on
 * each stream `open` gives holding exactly its range: the streaming backend's does
 * (`holdToLength`), so a part whose file changed fails the body instead of shifting the rest.
 *
 * @example
 * ctx.body = multipartBody(plan, (range) => storage.open(name, range));
 */
export function multipartBody(
  plan: MultipartPlan,
  open: (range: ByteRange) => Promise<Readable>,
): Readable {
  let current: Readable | undefined;
  async function* generate(): AsyncGenerator<Buffer> {
    for (const part of plan.parts) {
      yield part.head;
      current = await open(part.range);
      try {
        for await (const chunk of current) yield chunk as Buffer;
      } finally {
        current.destroy();
        current = undefined;
      }
    }
    yield plan.tail;
  }
  return generatorStream(generate(), () => current?.destroy());
}
