import cors from '@koa/cors';
import Router from '@koa/router';
import { expect } from 'chai';
import type { Context, Middleware } from 'koa';
import compress from 'koa-compress';
import conditional from 'koa-conditional-get';
import etag from 'koa-etag';
import helmet from 'koa-helmet';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, realpath, rm, writeFile } from 'node:fs/promises';
import { Agent, request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadview, storageDownload } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { parseMultipart, request, type RawResponse } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { requireBinary } from './support/require-binary.ts';
import { jsonErrors, offloadByUrl, PROXY_KINDS } from './support/offload-setups.ts';
import { startProxy, type RunningProxy } from './support/proxies.ts';

// Every middleware stack of test/integration/middleware-stacks*.test.ts, in the order users
// write them, in front of downloadview() with an offload backend, behind the real proxy
// configured from docs/proxies/: the proxy sends the bytes, and no stack may make it send
// wrong ones or let an offload header reach the client.

const CSV = Buffer.from('id,total\n'.repeat(4000));
const BIN = randomBytes(512 * 1024 + 3);
const OFFLOAD_HEADERS = ['x-accel-redirect', 'x-sendfile', 'x-offload-url', 'x-accel-buffering'];

const STACKS: Record<string, () => Middleware[]> = {
  'koa-compress': () => [compress()],
  'koa-conditional-get + koa-etag': () => [conditional(), etag()],
  'a JSON error handler': () => [jsonErrors],
  'koa-helmet + @koa/cors': () => [helmet(), cors({ exposeHeaders: ['Content-Disposition'] })],
  'all of them, error handler outermost': () => [
    jsonErrors,
    helmet(),
    cors(),
    compress(),
    conditional(),
    etag(),
  ],
};

const leaked = (res: RawResponse) =>
  OFFLOAD_HEADERS.filter((name) => res.headers[name] !== undefined);

describe('edges: every middleware stack, offloaded behind every real proxy', function () {
  let root: string;
  let filesDir: string;

  before(async function () {
    root = await realpath(await mkdtemp(join(tmpdir(), 'kdv-stacks-')));
    await chmod(root, 0o755);
    filesDir = join(root, 'files');
    await mkdir(filesDir, { mode: 0o755 });
    await writeFile(join(filesDir, 'report.csv'), CSV, { mode: 0o644 });
    await writeFile(join(filesDir, 'data.bin'), BIN, { mode: 0o644 });
  });
  after(() => rm(root, { recursive: true, force: true }));

  for (const kind of PROXY_KINDS) {
    for (const [label, stack] of Object.entries(STACKS)) {
      describe(`${kind}, ${label} before downloadview()`, function () {
        let app: TestServer | undefined;
        let proxy: RunningProxy | undefined;
        const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
          request(`${proxy!.url}${path}`, { method, headers });

        before(async function () {
          requireBinary(this, kind);
          const { backend, rule } = offloadByUrl(kind, filesDir, '/files/');
          const storage = new FileSystemStorage({ location: filesDir, baseUrl: '/files/' });
          const router = new Router();
          router.get('/files/*path', storageDownload({ storage }));
          router.post('/files/*path', storageDownload({ storage }));
          router.get('/denied/*path', (ctx: Context) => ctx.throw(403, 'not yours'));
          app = await serve(...stack(), downloadview({ backend, rules: [rule] }), router.routes());
          proxy = await startProxy(kind, { upstreamPort: Number(new URL(app.url).port), filesDir });
        });
        after(async function () {
          await proxy?.stop();
          await app?.close();
        });
        afterEach(function () {
          // Client errors (the route's 403, a missing file's 404) are reported too; only a
          // server error would mean the library failed.
          const unexpected = (app?.errors ?? []).filter((err) => !('expose' in err && err.expose));
          expect(unexpected).to.deep.equal([]);
        });

        it('full: exact bytes, as stored (never compressed on the fly), no offload header', async function () {
          const res = await get('/files/report.csv', { 'Accept-Encoding': 'gzip, br' });
          expect(res.status, await proxy!.logs()).to.equal(200);
          expect(res.headers['content-encoding']).to.equal(undefined);
          expect(res.body.equals(CSV)).to.equal(true);
          expect(res.headers['content-disposition']).to.equal('attachment; filename="report.csv"');
          expect(leaked(res)).to.deep.equal([]);
        });

        it('ranged: 206 with the asked bytes', async function () {
          const res = await get('/files/data.bin', {
            Range: 'bytes=1000-1999',
            'Accept-Encoding': 'gzip',
          });
          expect(res.status).to.equal(206);
          expect(res.body.equals(BIN.subarray(1000, 2000))).to.equal(true);
          expect(leaked(res)).to.deep.equal([]);
        });

        it('multi-range: each part holds its bytes', async function () {
          const res = await get('/files/data.bin', { Range: 'bytes=0-9,100-109' });
          expect(res.status).to.equal(206);
          const parts = parseMultipart(res.body, String(res.headers['content-type']));
          expect(parts.map((part) => part.body.toString('hex'))).to.deep.equal([
            BIN.subarray(0, 10).toString('hex'),
            BIN.subarray(100, 110).toString('hex'),
          ]);
          expect(leaked(res)).to.deep.equal([]);
        });

        it('conditional: If-None-Match with the ETag sent → 304, no body, no offload header', async function () {
          const first = await get('/files/report.csv');
          const tag = String(first.headers['etag']);
          const res = await get('/files/report.csv', {
            'If-None-Match': tag,
            'Cache-Control': 'max-age=0',
          });
          expect([res.status, res.body.length]).to.deep.equal([304, 0]);
          expect(leaked(res)).to.deep.equal([]);
          const resumed = await get('/files/report.csv', { Range: 'bytes=10-19', 'If-Range': tag });
          expect([resumed.status, resumed.body.toString()]).to.deep.equal([
            206,
            CSV.subarray(10, 20).toString(),
          ]);
        });

        it('HEAD: the length GET sends, no body', async function () {
          const res = await get('/files/data.bin', {}, 'HEAD');
          expect([res.status, res.headers['content-length'], res.body.length]).to.deep.equal([
            200,
            String(BIN.length),
            0,
          ]);
          expect(leaked(res)).to.deep.equal([]);
        });

        it('a POST (a form asking for the file) downloads it; HEAD then GET on one connection stay in sync', async function () {
          const posted = await get('/files/report.csv', {}, 'POST');
          expect([posted.status, posted.body.equals(CSV)]).to.deep.equal([200, true]);
          // One keep-alive connection: a HEAD answered with body bytes would corrupt the GET.
          const agent = new Agent({ keepAlive: true, maxSockets: 1 });
          try {
            const head = await request(`${proxy!.url}/files/data.bin`, { method: 'HEAD', agent });
            const body = await request(`${proxy!.url}/files/report.csv`, { agent });
            expect([head.status, head.body.length, body.status]).to.deep.equal([200, 0, 200]);
            expect(body.body.equals(CSV)).to.equal(true);
          } finally {
            agent.destroy();
          }
        });

        it('a 403 from the route stays a 403, and a missing file a 404, never an offload', async function () {
          const denied = await get('/denied/data.bin');
          const missing = await get('/files/missing.bin');
          expect([denied.status, missing.status]).to.deep.equal([403, 404]);
          expect([...leaked(denied), ...leaked(missing)]).to.deep.equal([]);
        });

        it('aborted mid-body: the proxy and the app answer the next request', async function () {
          await new Promise<void>((resolve, reject) => {
            const req = httpRequest(`${proxy!.url}/files/data.bin`, (res) => {
              res.once('data', () => {
                req.destroy();
                resolve();
              });
            });
            req.on('error', (err) => (req.destroyed ? resolve() : reject(err)));
            req.end();
          });
          const res = await get('/files/data.bin');
          expect(res.status).to.equal(200);
          expect(res.body.equals(BIN)).to.equal(true);
        });
      });
    }
  }
});
