import cors from '@koa/cors';
import Router from '@koa/router';
import { expect } from 'chai';
import type Koa from 'koa';
import type { Context, Middleware, Next } from 'koa';
import helmet from 'koa-helmet';
import mount from 'koa-mount';
import session from 'koa-session';
import serveStatic from 'koa-static';
import { chmod, readdir, readlink, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { downloadview, storageDownload } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { contentDisposition } from '../support/disposition.ts';
import {
  countingStorage,
  randomFile,
  tempTree,
  type CountingStorage,
} from '../support/fixtures.ts';
import {
  leaveMidBody,
  openDescriptorCount,
  parseMultipart,
  request,
  type RawResponse,
} from '../support/http.ts';
import { createApp, serveApp, type TestServer } from '../support/koa.ts';
import { requireBinary } from './support/require-binary.ts';
import { startProxy, type ProxyKind, type RunningProxy } from './support/proxies.ts';

// Downloads inside more stacks real Koa apps have: koa-helmet + @koa/cors, koa-mount and a
// @koa/router prefix, koa-static beside the downloads (both orders), koa-session; the offloading
// ones behind the real nginx and Apache, configured as docs/proxies/ publishes them.

const BIN = randomFile(64 * 1024 + 7);
/** More than loopback buffers hold: a download cut after its first chunk is cut mid-file. */
const BIG = randomFile(24 * 1024 * 1024);
const PDF = randomFile(3000);
const PDF_NAME = 'Résumé 2024.pdf';
const PUBLIC_HTML = '<h1>public</h1>\n';
const EXPOSED = ['Content-Disposition', 'Content-Range', 'Accept-Ranges', 'ETag'];
const OFFLOAD_HEADERS = ['x-accel-redirect', 'x-sendfile', 'x-offload-url'];
const leaked = (res: RawResponse) => OFFLOAD_HEADERS.filter((h) => res.headers[h] !== undefined);

/** serve() of test/support/koa.ts for an app built beforehand (koa-session needs the app). */
const listen = (app: Koa): Promise<TestServer> => serveApp(app);

/** Errors the app reported, other than the 4xx answers clients asked for. */
const unexpected = (server: TestServer) =>
  server.errors
    .filter((err) => {
      const { status = 500, expose } = err as { status?: number; expose?: boolean };
      return !(expose && status >= 400 && status < 500);
    })
    .map(String);

/** This process's descriptors open on something under `dir`. */
async function descriptorsUnder(dir: string): Promise<string[]> {
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(
    fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
  );
  return targets.filter((target) => target.startsWith(`${dir}/`));
}

/**
 * A download of BIG cut after its first chunk leaves, after a bounded wait, no descriptor on
 * the files and no more descriptors than before; the next request is answered in full.
 */
async function expectCleanAbort(base: string, dir: string): Promise<void> {
  const baseline = await openDescriptorCount();
  const { status, received } = await leaveMidBody(`${base}big.bin`);
  expect(status).to.equal(200);
  expect(received).to.be.above(0).and.below(BIG.length);
  const clean = async () =>
    (await descriptorsUnder(dir)).length === 0 && (await openDescriptorCount()) <= baseline;
  for (const deadline = Date.now() + 2000; !(await clean()) && Date.now() < deadline;) {
    await sleep(20);
  }
  expect(await descriptorsUnder(dir), 'descriptors on the files').to.deep.equal([]);
  expect(await openDescriptorCount(), 'open descriptors').to.be.at.most(baseline);
  const next = await request(`${base}data.bin`);
  expect([next.status, next.aborted, next.body.equals(BIN)]).to.deep.equal([200, false, true]);
}

/** The `name=value` pairs of a response's Set-Cookie, as a client sends them back. */
const cookiesOf = (res: RawResponse) =>
  (res.headers['set-cookie'] ?? []).map((c) => c.split(';', 1)[0]).join('; ');

/** An app of the Koa major under test, with `middleware` in order. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- router middleware narrows ctx
const appOf = (...middleware: Middleware<any, any>[]) => {
  const app = createApp();
  for (const m of middleware) app.use(m);
  return app;
};

describe('edges: downloads inside more middleware stacks', function () {
  let tree: Awaited<ReturnType<typeof tempTree>>;
  /** Real paths, world-readable: the proxies' workers run unprivileged. */
  let filesDir: string;
  let publicDir: string;

  before(async () => {
    tree = await tempTree({
      'files/data.bin': BIN,
      'files/big.bin': BIG,
      [`files/docs/${PDF_NAME}`]: PDF,
      'files/report.csv': 'the download\n',
      'public/index.html': PUBLIC_HTML,
      'public/files/report.csv': 'the public copy\n',
    });
    await chmod(tree.dir, 0o755);
    filesDir = await realpath(join(tree.dir, 'files'));
    publicDir = await realpath(join(tree.dir, 'public'));
  });
  after(() => tree.cleanup());

  const downloads = (storage: CountingStorage, pattern = '/files/*path', prefix?: string) => {
    const router = new Router(prefix === undefined ? {} : { prefix });
    router.get(pattern, storageDownload({ storage }));
    return router.routes();
  };

  /** session(app), `view`, a download counter kept in the session, GET /session to read it. */
  const sessionApp = (view: Middleware, storage: CountingStorage) => {
    const app = createApp();
    app.keys = ['a key for the tests'];
    app.use(session(app));
    app.use(view);
    app.use((ctx: Context, next: Next) => {
      if (ctx.path === '/session') return void (ctx.body = { downloads: ctx.session!.downloads });
      if (ctx.path.startsWith('/files/'))
        ctx.session!.downloads = (ctx.session!.downloads ?? 0) + 1;
      return next();
    });
    app.use(downloads(storage));
    return app;
  };

  type Get = (
    path: string,
    headers?: Record<string, string>,
    method?: string,
  ) => Promise<RawResponse>;

  interface Stack {
    /** The URL path the storage's files are downloaded under. */
    files: string;
    build(storage: CountingStorage): Koa;
    extras?: Record<string, (get: Get) => Promise<void>>;
  }

  /** koa-static (deferred or not) before or after downloadview(), both before the routes. */
  const staticStack = (order: 'before' | 'after', defer: boolean): Stack => ({
    files: '/files/',
    build: (storage) => {
      const both = [serveStatic(publicDir, { defer }), downloadview()];
      return appOf(...(order === 'before' ? both : both.reverse()), downloads(storage));
    },
    extras: {
      'koa-static still serves its own files': async (get) => {
        const res = await get('/index.html');
        expect([res.status, res.body.toString()]).to.deep.equal([200, PUBLIC_HTML]);
      },
      [`a path in both: ${defer ? 'the download' : 'koa-static, which answers before the routes,'} wins`]:
        async (get) => {
          const res = await get('/files/report.csv');
          const download = res.headers['content-disposition'] !== undefined;
          expect([res.status, res.body.toString(), download]).to.deep.equal(
            defer ? [200, 'the download\n', true] : [200, 'the public copy\n', false],
          );
        },
    },
  });

  const STACKS: Record<string, Stack> = {
    'koa-helmet + @koa/cors before downloadview()': {
      files: '/files/',
      build: (storage) =>
        appOf(helmet(), cors({ exposeHeaders: EXPOSED }), downloadview(), downloads(storage)),
      extras: {
        'a cross-origin download, or range of it, sees the exposed headers': async (get) => {
          for (const range of [{}, { Range: 'bytes=0-99' }] as Record<string, string>[]) {
            const res = await get('/files/data.bin', { Origin: 'https://app.example', ...range });
            expect(res.status).to.equal(range.Range ? 206 : 200);
            expect(res.headers['access-control-allow-origin']).to.equal('*');
            const exposed = String(res.headers['access-control-expose-headers']).split(',');
            expect(exposed).to.deep.equal(EXPOSED);
          }
        },
        'a preflight is answered by @koa/cors alone; helmet headers go with downloads': async (
          get,
        ) => {
          const preflight = await get(
            '/files/data.bin',
            { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' },
            'OPTIONS',
          );
          expect(preflight.status).to.equal(204);
          expect(preflight.headers['content-disposition']).to.equal(undefined);
          const res = await get('/files/data.bin');
          expect(res.headers['x-content-type-options']).to.equal('nosniff');
          expect(res.headers['content-security-policy']).to.be.a('string');
        },
      },
    },
    'koa-mount: downloadview() inside a sub-app mounted at /files': {
      files: '/files/',
      build: (storage) =>
        appOf(mount('/files', appOf(downloadview(), downloads(storage, '/*path')))),
      extras: {
        'a path that only starts like the mount is not the sub-app: 404': async (get) => {
          expect((await get('/filesdata.bin')).status).to.equal(404);
        },
      },
    },
    "@koa/router with prefix '/api'": {
      files: '/api/files/',
      build: (storage) => appOf(downloadview(), downloads(storage, '/files/*path', '/api')),
    },
    'koa-static, then downloadview()': staticStack('before', false),
    'downloadview(), then koa-static': staticStack('after', false),
    'koa-static with defer, then downloadview()': staticStack('before', true),
    'koa-session before downloadview()': {
      files: '/files/',
      build: (storage) => sessionApp(downloadview(), storage),
      extras: {
        'the session cookie goes out with the exact download, and is read back': async (get) => {
          const res = await get('/files/data.bin');
          expect([res.status, res.body.equals(BIN)]).to.deep.equal([200, true]);
          expect(res.headers['content-length']).to.equal(String(BIN.length));
          expect(cookiesOf(res)).to.match(/^koa\.sess=[^;]+; koa\.sess\.sig=/);
          const again = await get('/files/data.bin', { Cookie: cookiesOf(res) });
          const back = await get('/session', { Cookie: cookiesOf(again) });
          expect(JSON.parse(back.body.toString())).to.deep.equal({ downloads: 2 });
        },
      },
    },
  };

  for (const [label, stack] of Object.entries(STACKS)) {
    describe(label, function () {
      let server: TestServer;
      const f = stack.files;
      const get: Get = (path, headers = {}, method = 'GET') =>
        request(`${server.url}${path}`, { method, headers });

      before(async () => {
        server = await listen(
          stack.build(countingStorage(new FileSystemStorage({ location: filesDir }))),
        );
      });
      after(() => server.close());
      afterEach(() => {
        expect(unexpected(server)).to.deep.equal([]);
        server.errors.length = 0;
      });

      it('a full GET: exact bytes, attachment with the name, ranges announced', async () => {
        const res = await get(`${f}data.bin`);
        expect([res.status, res.aborted, res.body.equals(BIN)]).to.deep.equal([200, false, true]);
        expect(res.headers['content-length']).to.equal(String(BIN.length));
        expect(res.headers['accept-ranges']).to.equal('bytes');
        expect(res.headers['etag']).to.match(/^"/);
        expect(contentDisposition(res.headers)).to.deep.equal({
          type: 'attachment',
          filename: 'data.bin',
        });
      });

      it('a name with a directory, a space and accents: its bytes and its name', async () => {
        const res = await get(`${f}docs/${encodeURIComponent(PDF_NAME)}`);
        expect([res.status, res.body.equals(PDF)]).to.deep.equal([200, true]);
        expect(res.headers['content-type']).to.equal('application/pdf');
        expect(contentDisposition(res.headers).filename).to.equal(PDF_NAME);
      });

      it('a Range and several ranges are byte-exact', async () => {
        const one = await get(`${f}data.bin`, { Range: 'bytes=1000-1999' });
        expect([one.status, one.headers['content-range']]).to.deep.equal([
          206,
          `bytes 1000-1999/${BIN.length}`,
        ]);
        expect(one.body.equals(BIN.subarray(1000, 2000))).to.equal(true);
        const many = await get(`${f}data.bin`, { Range: 'bytes=0-9,60000-60009' });
        expect(many.status).to.equal(206);
        const parts = parseMultipart(many.body, String(many.headers['content-type']));
        expect(parts.map((p) => [p.headers['content-range'], p.body])).to.deep.equal([
          [`bytes 0-9/${BIN.length}`, BIN.subarray(0, 10)],
          [`bytes 60000-60009/${BIN.length}`, BIN.subarray(60000, 60010)],
        ]);
      });

      it('If-None-Match with the ETag it got answers 304 with no body', async () => {
        const first = await get(`${f}data.bin`);
        const res = await get(`${f}data.bin`, {
          'If-None-Match': String(first.headers['etag']),
          'Cache-Control': 'max-age=0',
        });
        expect([res.status, res.body.length]).to.deep.equal([304, 0]);
      });

      it('HEAD announces what GET sends, with no body', async () => {
        const [head, full] = await Promise.all([
          get(`${f}data.bin`, {}, 'HEAD'),
          get(`${f}data.bin`),
        ]);
        expect([head.status, head.body.length]).to.deep.equal([200, 0]);
        for (const name of ['content-length', 'content-type', 'content-disposition', 'etag']) {
          expect(head.headers[name], name).to.equal(full.headers[name]);
        }
      });

      it('a missing file answers 404', async () => {
        expect((await get(`${f}missing.bin`)).status).to.equal(404);
      });

      it('an aborted download leaves no descriptor open, and the next request is answered', () =>
        expectCleanAbort(`${server.url}${f}`, filesDir));

      for (const [name, check] of Object.entries(stack.extras ?? {})) it(name, () => check(get));
    });
  }

  interface Proxied {
    kind: ProxyKind;
    /** The storage's baseUrl, for a sourceUrl rule. */
    baseUrl?: string;
    build(storage: CountingStorage): Koa;
    session: boolean;
  }

  const PROXIED: Record<string, Proxied> = {
    'nginx: a sub-app mounted at /files, its sourceUrl rule matching the storage baseUrl': {
      kind: 'nginx',
      baseUrl: '/files/',
      session: false,
      build: (storage) => {
        const rules = [{ sourceUrl: '/files/', destinationUrl: '/protected/' }];
        const view = downloadview({ backend: 'nginx', rules });
        return appOf(mount('/files', appOf(view, downloads(storage, '/*path'))));
      },
    },
    'nginx: koa-session before downloadview(), X-Accel-Redirect': {
      kind: 'nginx',
      session: true,
      build: (storage) => {
        const rules = [{ sourceDir: filesDir, destinationUrl: '/protected/' }];
        return sessionApp(downloadview({ backend: 'nginx', rules }), storage);
      },
    },
    'apache: koa-session before downloadview(), X-Sendfile': {
      kind: 'apache',
      session: true,
      build: (storage) => {
        const rules = [{ sourceDir: filesDir, destinationDir: filesDir }];
        return sessionApp(downloadview({ backend: 'apache', rules }), storage);
      },
    },
  };

  for (const [label, stack] of Object.entries(PROXIED)) {
    describe(label, function () {
      let storage: CountingStorage;
      let app: TestServer | undefined;
      let proxy: RunningProxy | undefined;
      const get = (path: string, headers: Record<string, string> = {}) =>
        request(`${proxy!.url}${path}`, { headers });

      before(async function () {
        requireBinary(this, stack.kind);
        const { baseUrl } = stack;
        storage = countingStorage(
          new FileSystemStorage({ location: filesDir, ...(baseUrl && { baseUrl }) }),
        );
        app = await listen(stack.build(storage));
        const upstreamPort = Number(new URL(app.url).port);
        proxy = await startProxy(stack.kind, { upstreamPort, filesDir });
      });
      after(async () => {
        await proxy?.stop();
        await app?.close();
      });
      afterEach(() => {
        if (app) expect(unexpected(app)).to.deep.equal([]);
      });

      it('offloaded: exact bytes and names, a Range served by the proxy, no offload header', async () => {
        for (const [path, range, bytes, name] of [
          ['/files/data.bin', '', BIN, 'data.bin'],
          ['/files/data.bin', 'bytes=1000-1999', BIN.subarray(1000, 2000), 'data.bin'],
          [`/files/docs/${encodeURIComponent(PDF_NAME)}`, '', PDF, PDF_NAME],
        ] as const) {
          const opens = storage.opens;
          const res = await get(path, range ? { Range: range } : {});
          const answer = [res.status, res.body.equals(bytes), contentDisposition(res.headers)];
          expect(answer, await proxy!.logs()).to.deep.equal([
            range ? 206 : 200,
            true,
            { type: 'attachment', filename: name },
          ]);
          expect(storage.opens, `${path} streamed by Koa`).to.equal(opens);
          expect(leaked(res)).to.deep.equal([]);
        }
      });

      if (stack.session) {
        it('the session cookie reaches the client with the download, and is read back', async () => {
          const res = await get('/files/data.bin');
          expect([res.status, res.body.equals(BIN)]).to.deep.equal([200, true]);
          expect(cookiesOf(res)).to.match(/^koa\.sess=[^;]+; koa\.sess\.sig=/);
          expect(leaked(res)).to.deep.equal([]);
          const back = await get('/session', { Cookie: cookiesOf(res) });
          expect(JSON.parse(back.body.toString())).to.deep.equal({ downloads: 1 });
        });
      }

      it('an aborted download leaves no descriptor open, and the next request is answered', () =>
        expectCleanAbort(`${proxy!.url}/files/`, filesDir));
    });
  }
});
