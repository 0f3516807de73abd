import { AssertionError, expect } from 'chai';
import Koa from 'koa';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StorageFile } from '../../files/storage-file.ts';
import { downloadview } from '../../middleware.ts';
import { expectBytes } from './bytes.ts';
import { UNICODE_NAME, fixture, type Context } from './context.ts';

const RANGE = { start: 1, end: 3 };

/** One HTTP round trip: a Range request through `downloadview()` answered 206 from the storage. */
export function describeHttp(ctx: Context): void {
  ctx.test('serves a range through downloadview() over HTTP (206)', async () => {
    const reported: Error[] = [];
    const server = listen(ctx, reported);
    try {
      await new Promise((resolve) => server.once('listening', resolve));
      const res = await roundTrip(server, ctx.timeout, reported);
      const file = fixture(UNICODE_NAME);
      const body = JSON.stringify(res.body.toString().slice(0, 200));
      expect(res.status, `status (body ${body}${errors(reported)})`).to.equal(206);
      expect(res.contentRange, 'Content-Range').to.equal(`bytes 1-3/${file.length}`);
      expectBytes(res.body, { file, range: RANGE }, 'the body of the HTTP round trip');
      if (reported.length > 0) {
        const shown = reported.map(String).join(', ');
        throw new AssertionError(`the HTTP round trip answered, but the app reported ${shown}`);
      }
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
}

/**
 * A server answering every request with the Unicode fixture through `downloadview()`. The
 * app's errors go to `reported` (and so into the failure) instead of Koa's log on stderr.
 */
function listen(ctx: Context, reported: Error[]): Server {
  const app = new Koa();
  app.on('error', (err: Error) => reported.push(err));
  app.use(downloadview());
  app.use((koa) => {
    koa.body = new StorageFile(ctx.storage, UNICODE_NAME);
  });
  return app.listen(0, '127.0.0.1');
}

function errors(reported: Error[]): string {
  return reported.length === 0 ? '' : `; the app reported ${reported.map(String).join(', ')}`;
}

interface RoundTrip {
  status: number;
  contentRange: string | null;
  body: Buffer;
}

/**
 * GET / with `Range: bytes=1-3`, failing with what arrived so far when the whole response has
 * not within `ms`: a storage stream that never ends otherwise shows as the runner's timeout.
 */
async function roundTrip(server: Server, ms: number, reported: Error[]): Promise<RoundTrip> {
  const { port } = server.address() as AddressInfo;
  const progress = { stage: 'no response headers', bytes: 0 };
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), ms);
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      headers: { Range: `bytes=${RANGE.start}-${RANGE.end}` },
      signal: controller.signal,
    });
    progress.stage = `status ${res.status}, ${res.headers.get('content-length') ?? 'no'} Content-Length`;
    const chunks: Buffer[] = [];
    for await (const chunk of res.body ?? []) {
      chunks.push(Buffer.from(chunk));
      progress.bytes += chunk.length;
    }
    return {
      status: res.status,
      contentRange: res.headers.get('content-range'),
      body: Buffer.concat(chunks),
    };
  } catch (err) {
    if (!controller.signal.aborted) throw err;
    throw new AssertionError(
      `HTTP round trip (GET with Range: bytes=${RANGE.start}-${RANGE.end} through downloadview()) ` +
        `got no complete response within ${ms} ms: ${progress.stage}, ${progress.bytes} body bytes ` +
        `received${errors(reported)}. Does the storage stream end after the range?`,
    );
  } finally {
    clearTimeout(timer);
  }
}
