import Router from '@koa/router';
import { expect } from 'chai';
import type { Context, Middleware } from 'koa';
import compress from 'koa-compress';
import conditional from 'koa-conditional-get';
import etag from 'koa-etag';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  downloadview,
  DownloadFileSerializedError,
  StorageFile,
  storageDownload,
  type Storage,
} from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { tempTree } from '../support/fixtures.ts';
import { parseMultipart, request, leaveMidBody } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { jsonErrors } from './support/offload-setups.ts';

// Downloads inside the middleware stacks real Koa apps have, in the orders users write them:
// koa-compress, koa-conditional-get + koa-etag, and an error handler that answers JSON.

/** Compressible (text) and large enough for koa-compress's 1 KiB threshold. */
const CSV = Buffer.from('id,total\n'.repeat(4000));
const BIN = randomBytes(64 * 1024 + 7);

const STACKS: Record<string, (view: Middleware) => Middleware[]> = {
  'compress() before downloadview()': (view) => [compress(), view],
  'conditional() + etag() before downloadview()': (view) => [conditional(), etag(), view],
  'a JSON error handler before downloadview()': (view) => [jsonErrors, view],
  'all of them, error handler outermost': (view) => [
    jsonErrors,
    compress(),
    conditional(),
    etag(),
    view,
  ],
};

describe('edges: downloads inside common middleware stacks', function () {
  let tree: Awaited<ReturnType<typeof tempTree>>;
  let storage: FileSystemStorage;

  before(async () => {
    tree = await tempTree({ 'report.csv': CSV, 'data.bin': BIN });
    storage = new FileSystemStorage({ location: tree.dir });
  });
  after(() => tree.cleanup());

  const routes = () => {
    const router = new Router();
    router.get('/files/*path', storageDownload({ storage }));
    return router.routes();
  };

  for (const [label, stack] of Object.entries(STACKS)) {
    describe(label, function () {
      let server: TestServer;
      const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
        request(`${server.url}${path}`, {
          method,
          headers: { 'Accept-Encoding': 'gzip, br', ...headers },
        });

      before(async () => {
        server = await serve(...stack(downloadview()), routes());
      });
      after(() => server.close());
      afterEach(() => {
        const serverErrors = server.errors.filter((e) => !(e as { expose?: boolean }).expose);
        expect(serverErrors.map(String)).to.deep.equal([]);
        server.errors.length = 0;
      });

      it('a compressible file is sent as stored: identity, exact bytes, one strong ETag', async () => {
        const res = await get('/files/report.csv');
        expect(res.status).to.equal(200);
        expect(res.headers['content-encoding']).to.equal(undefined);
        expect(res.headers['content-length']).to.equal(String(CSV.length));
        expect(res.headers['accept-ranges']).to.equal('bytes');
        expect(res.body.equals(CSV)).to.equal(true);
        expect(res.headers['etag']).to.match(/^"/);
      });

      it('HEAD announces what GET sends', async () => {
        const [head, full] = await Promise.all([
          get('/files/report.csv', {}, 'HEAD'),
          get('/files/report.csv'),
        ]);
        for (const name of ['content-length', 'content-encoding', 'etag', 'content-type']) {
          expect(head.headers[name], name).to.equal(full.headers[name]);
        }
      });

      it('a resumed download (Range + If-Range) is byte-exact', async () => {
        const first = await get('/files/report.csv');
        const res = await get('/files/report.csv', {
          Range: 'bytes=1000-',
          'If-Range': String(first.headers['etag']),
        });
        expect(res.status).to.equal(206);
        expect(res.headers['content-encoding']).to.equal(undefined);
        expect(res.body.equals(CSV.subarray(1000))).to.equal(true);
      });

      it('several ranges come back as multipart/byteranges, each part exact', async () => {
        const res = await get('/files/data.bin', { Range: 'bytes=0-9,60000-60009' });
        expect(res.status).to.equal(206);
        const parts = parseMultipart(res.body, String(res.headers['content-type']));
        expect(parts.map((p) => [p.headers['content-range'], p.body])).to.deep.equal([
          [`bytes 0-9/${BIN.length}`, BIN.subarray(0, 10)],
          [`bytes 60000-60009/${BIN.length}`, BIN.subarray(60000, 60010)],
        ]);
      });

      it('a revalidation with the ETag it got answers 304 with no body', async () => {
        const first = await get('/files/data.bin');
        const res = await get('/files/data.bin', {
          'If-None-Match': String(first.headers['etag']),
          'Cache-Control': 'max-age=0',
        });
        expect([res.status, res.body.length]).to.deep.equal([304, 0]);
      });

      it('a 416 keeps Content-Range: bytes */size, whatever handles the error', async () => {
        const res = await get('/files/data.bin', { Range: 'bytes=999999-' });
        expect(res.status).to.equal(416);
        expect(res.headers['content-range']).to.equal(`bytes */${BIN.length}`);
      });

      it('a missing file answers 404', async () => {
        const res = await get('/files/missing.bin');
        expect(res.status).to.equal(404);
      });
    });
  }

  describe('storage failures inside the stacks', function () {
    /** A storage whose reads fail after `goodBytes` (0: at once), as a failing disk would. */
    const failingAfter = (goodBytes: number): Storage => ({
      driver: 'failing',
      stat: (name) => storage.stat(name),
      open: async () => {
        let sent = false;
        return new Readable({
          read() {
            if (!sent && goodBytes > 0) {
              sent = true;
              this.push(CSV.subarray(0, goodBytes));
              return;
            }
            setImmediate(() =>
              this.destroy(Object.assign(new Error('EIO: i/o error'), { code: 'EIO' })),
            );
          },
        });
      },
      exists: (name) => storage.exists(name),
      save: (name, content) => storage.save(name, content),
      delete: (name) => storage.delete(name),
      path: (name) => storage.path(name),
      url: (name) => storage.url(name),
    });

    it("a read that fails before the first byte answers the error handler's 500, never an empty reply", async () => {
      const server = await serve(jsonErrors, compress(), downloadview(), (ctx: Context) => {
        ctx.body = new StorageFile(failingAfter(0), 'report.csv');
      });
      try {
        const res = await request(server.url, { headers: { 'Accept-Encoding': 'gzip' } });
        expect([res.status, res.aborted]).to.deep.equal([500, false]);
        expect(JSON.parse(res.body.toString())).to.deep.equal({ error: 'Internal Server Error' });
      } finally {
        await server.close();
      }
    });

    it('a client that leaves while the storage has sent nothing yet releases the storage stream', async () => {
      let released = false;
      const stalled: Storage = {
        ...failingAfter(0),
        open: async () => {
          const body = new Readable({ read() {} }); // never produces a byte
          body.once('close', () => (released = true));
          return body;
        },
      };
      const server = await serve(jsonErrors, downloadview(), (ctx: Context) => {
        ctx.body = new StorageFile(stalled, 'report.csv');
      });
      try {
        await leaveMidBody(server.url, { afterMs: 200 });
        for (let waited = 0; !released && waited < 2000; waited += 20) await sleep(20);
        expect(released).to.equal(true);
      } finally {
        await server.close();
      }
    });

    it('a read that fails mid-file under compress() aborts the connection, reported once', async () => {
      const server = await serve(compress(), downloadview(), (ctx: Context) => {
        ctx.body = new StorageFile(failingAfter(16 * 1024), 'report.csv');
      });
      try {
        const started = Date.now();
        const res = await request(server.url, { headers: { 'Accept-Encoding': 'gzip' } });
        expect([res.status, res.aborted]).to.deep.equal([200, true]);
        expect(res.headers['content-encoding']).to.equal(undefined);
        expect(res.body.length).to.be.below(CSV.length);
        expect(Date.now() - started).to.be.below(2000);
        expect(server.errors.map((e) => (e as { code?: string }).code)).to.deep.equal(['EIO']);
      } finally {
        await server.close();
      }
    });
  });

  describe('misplaced: a body-reading middleware registered after downloadview()', function () {
    for (const [label, inner] of [
      ['compress()', () => [compress({ threshold: 0 })]],
      ['conditional() + etag()', () => [conditional(), etag()]],
    ] as const) {
      it(`${label} fails the first request with a message saying what to move`, async () => {
        const server = await serve(downloadview(), ...inner(), routes());
        try {
          const res = await request(`${server.url}/files/report.csv`, {
            headers: { 'Accept-Encoding': 'gzip' },
          });
          expect(res.status).to.equal(500);
          expect(res.body.includes(CSV.subarray(0, 100))).to.equal(false);
          expect(server.errors[0]).to.be.instanceOf(DownloadFileSerializedError);
          expect(server.errors[0]?.message).to.match(
            /register such middleware before downloadview/,
          );
        } finally {
          await server.close();
        }
      });
    }
  });
});
