import { expect } from 'chai';
import type Koa from 'koa';
import {
  connect,
  constants,
  createSecureServer,
  createServer,
  type ClientHttp2Session,
  type Http2SecureServer,
  type Http2Server,
  type IncomingHttpHeaders,
} from 'node:http2';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { downloadview, StorageFile } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import {
  countingStorage,
  randomFile,
  tempTree,
  type CountingStorage,
} from '../support/fixtures.ts';
import { openDescriptorCount } from '../support/http.ts';
import { createApp } from '../support/koa.ts';
import { testCertificate } from '../support/tls.ts';

const RESETS = 80;
const BIG = randomFile(4 * 1024 * 1024);

/**
 * One HTTP/2 request. `reset`: the client cancels the stream after the first body bytes
 * (`'first chunk'`), or as soon as it is sent (`'at once'`), while the server is still opening
 * the file and before the body is handed to Koa.
 */
function h2request(
  session: ClientHttp2Session,
  method: string,
  { reset, path = '/big.bin' }: { reset?: 'first chunk' | 'at once'; path?: string } = {},
): Promise<{ headers: IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': method, ':path': path });
    const chunks: Buffer[] = [];
    let headers: IncomingHttpHeaders = {};
    const cancel = () => req.close(constants.NGHTTP2_CANCEL);
    if (reset === 'at once') setImmediate(cancel);
    req.on('response', (h) => (headers = h));
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (reset === 'first chunk' && chunks.length === 1) cancel();
    });
    req.on('close', () => resolve({ headers, body: Buffer.concat(chunks) }));
    req.on('error', (err) => (reset ? undefined : reject(err)));
    req.end();
  });
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(20);
  }
}

/** Cleartext HTTP/2, and HTTP/2 over TLS as browsers speak it (HTTP/1.1 allowed beside it). */
const SERVERS = {
  h2c: (listener: Koa['callback']) => ({ server: createServer(listener()), scheme: 'http' }),
  'TLS, allowHTTP1': (listener: Koa['callback']) => {
    const { key, cert } = testCertificate();
    const server = createSecureServer({ key, cert, allowHTTP1: true }, listener());
    return { server, scheme: 'https' };
  },
} satisfies Record<
  string,
  (listener: Koa['callback']) => { server: Http2Server | Http2SecureServer; scheme: string }
>;

for (const [transport, makeServer] of Object.entries(SERVERS))
  describe(`streaming backend over HTTP/2 (${transport}, compatibility API)`, () => {
    let server: Http2Server | Http2SecureServer;
    let session: ClientHttp2Session;
    let storage: CountingStorage;
    let cleanup: () => Promise<void>;
    const errors: Error[] = [];

    before(async () => {
      const tree = await tempTree({ 'big.bin': BIG });
      cleanup = tree.cleanup;
      storage = countingStorage(new FileSystemStorage({ location: tree.dir }));
      const app = createApp();
      app.on('error', (err: Error) => errors.push(err));
      app.use(downloadview());
      app.use((ctx) => {
        ctx.body = new StorageFile(storage, ctx.path.slice(1));
      });
      const made = makeServer(() => app.callback());
      server = made.server;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      session = connect(`${made.scheme}://127.0.0.1:${port}`, { ca: testCertificate().cert });
    });
    after(async () => {
      session.close();
      await new Promise((resolve) => server.close(resolve));
      await cleanup();
    });

    it('sends a whole file', async () => {
      const res = await h2request(session, 'GET');
      expect(res.headers[':status']).to.equal(200);
      expect(res.headers['content-length']).to.equal(String(BIG.length));
      expect(res.body.equals(BIG)).to.equal(true);
    });

    /** HEAD over HTTP/2 hung on Koa 2, which took the HEAD stream for an answered one. */
    const head = (path: string) =>
      Promise.race([
        h2request(session, 'HEAD', { path }),
        sleep(2000).then(() => {
          throw new Error('HEAD did not end within 2 s');
        }),
      ]);

    it('answers HEAD with the headers of GET and no body, without hanging', async () => {
      const res = await head('/big.bin');
      expect(res.headers[':status']).to.equal(200);
      expect(res.headers['content-length']).to.equal(String(BIG.length));
      expect(res.body.length).to.equal(0);
    });

    it('answers HEAD of a missing file with 404, without hanging', async () => {
      const res = await head('/missing.bin');
      expect(res.headers[':status']).to.equal(404);
      expect(res.body.length).to.equal(0);
    });

    for (const reset of ['first chunk', 'at once'] as const) {
      it(`releases the file of each of ${RESETS} streams the client resets (${reset})`, async () => {
        await h2request(session, 'GET');
        errors.length = 0;
        const baseline = await openDescriptorCount();
        const opensBefore = storage.opens;
        const results = await Promise.all(
          Array.from({ length: RESETS }, () => h2request(session, 'GET', { reset })),
        );
        expect(results.every((r) => r.body.length < BIG.length)).to.equal(true);
        await until(async () => storage.liveStreams === 0, 3000).catch(() => {
          const opened = storage.opens - opensBefore;
          throw new Error(
            `${storage.liveStreams} of ${opened} files left open 3 s after the resets`,
          );
        });
        await until(async () => (await openDescriptorCount()) <= baseline, 3000);
        expect(errors, 'a client leaving is not an error').to.deep.equal([]);
      });
    }
  });
