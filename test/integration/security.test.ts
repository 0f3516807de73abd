import Router from '@koa/router';
import { expect } from 'chai';
import type { Context, Next } from 'koa';
import conditional from 'koa-conditional-get';
import helmet from 'koa-helmet';
import cors from '@koa/cors';
import { createServer, type Server } from 'node:http';
import { chmod, mkdir, mkdtemp, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import {
  apache,
  auto,
  caddy,
  downloadview,
  HttpFile,
  lighttpd,
  nginx,
  pathDownload,
  StorageFile,
  storageDownload,
  type Backend,
  type DownloadRule,
} from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { countingStorage, type CountingStorage } from '../support/fixtures.ts';
import { request, type RawResponse } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { requireBinary } from './support/require-binary.ts';
import { startProxy, type ProxyKind, type RunningProxy } from './support/proxies.ts';

// What an attacker tries against an app built from the README, behind each real proxy
// configured exactly as docs/proxies/ publishes it: files outside the storage root through
// symbolic links, dotfiles, missing and over-long names, client-sent offload configuration,
// names that two servers decode differently, and (nginx) a hostile remote origin.

const SECRET = 'SECRET bytes beside the storage root\n';
const HELLO = 'hello from inside the root\n';
const OFFLOAD_HEADERS = ['x-accel-redirect', 'x-sendfile', 'x-offload-url', 'x-accel-limit-rate'];
const KINDS: ProxyKind[] = ['nginx', 'apache', 'lighttpd', 'caddy'];

interface Fixture {
  root: string;
  filesDir: string;
}

/**
 * files/ is the storage root and what the proxies may serve; beside it lie a secret file and
 * a directory the links inside point to. Everything world-readable: proxy workers run
 * unprivileged.
 */
async function createFixture(): Promise<Fixture> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'kdv-security-')));
  await chmod(root, 0o755);
  const filesDir = join(root, 'files');
  const write = async (path: string, text: string) => {
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFile(path, text, { mode: 0o644 });
  };
  await write(join(root, 'secret.txt'), SECRET);
  await write(join(root, 'outside', 'x.txt'), SECRET);
  await write(join(filesDir, 'hello.txt'), HELLO);
  // A name a server's header parser would trim to another file's name (raw X-Sendfile).
  await write(join(filesDir, 'victim.txt'), SECRET);
  await write(join(filesDir, 'victim.txt '), 'mine\n');
  await write(join(filesDir, 'aA.txt'), 'bytes of aA.txt\n');
  await write(join(filesDir, 'a%41.txt'), 'bytes of a%41.txt\n');
  await write(join(filesDir, '.env'), SECRET);
  await write(join(filesDir, '.git', 'config'), SECRET);
  await write(join(filesDir, 'sub', '.hidden.txt'), SECRET);
  await symlink('../secret.txt', join(filesDir, 'link-out.txt'));
  await symlink('../outside', join(filesDir, 'dir-out'));
  await symlink('hello.txt', join(filesDir, 'link-in.txt'));
  return { root, filesDir };
}

const leaked = (res: RawResponse) => OFFLOAD_HEADERS.filter((h) => res.headers[h] !== undefined);
const encodePath = (name: string) => name.split('/').map(encodeURIComponent).join('/');

interface Setup {
  backend: () => Backend;
  rules: (filesDir: string) => DownloadRule[];
  /** How `auto` is configured for this server (Caddy drops the headers: streamed). */
  sendfile: 'apache' | 'lighttpd';
  /** Whether the published config makes `auto` offload through this server. */
  autoOffloads: boolean;
}

/** A URL rule for files published under /media/ and a path rule, to `destination`. */
const byUrlAndPath =
  (key: 'destinationUrl' | 'destinationDir') =>
  (dir: string): DownloadRule[] => {
    const destination = { [key]: key === 'destinationUrl' ? '/protected/' : dir };
    return [
      { sourceUrl: '/media/', ...destination },
      { sourceDir: dir, ...destination },
    ];
  };

const SETUPS: Record<ProxyKind, Setup> = {
  nginx: {
    backend: () => nginx(),
    rules: byUrlAndPath('destinationUrl'),
    sendfile: 'apache',
    autoOffloads: true,
  },
  apache: {
    backend: apache,
    rules: byUrlAndPath('destinationDir'),
    sendfile: 'apache',
    autoOffloads: true,
  },
  lighttpd: {
    backend: lighttpd,
    rules: byUrlAndPath('destinationDir'),
    sendfile: 'lighttpd',
    autoOffloads: true,
  },
  caddy: {
    backend: caddy,
    rules: byUrlAndPath('destinationUrl'),
    sendfile: 'apache',
    autoOffloads: false,
  },
};

/** The routes of an app written from the README: helpers, and a hand-made StorageFile. */
function routes(storage: CountingStorage, filesDir: string) {
  const router = new Router();
  router.get('/dl/*path', storageDownload({ storage }));
  router.get('/conditional/*path', storageDownload({ storage }));
  const exposeHeaders = ['Content-Disposition', 'Content-Range', 'Accept-Ranges', 'ETag'];
  router.get('/cors/*path', helmet(), cors({ exposeHeaders }), storageDownload({ storage }));
  router.get('/p/*path', pathDownload({ root: filesDir }));
  router.get('/invoice/:name', (ctx: Context) => {
    ctx.body = new StorageFile(storage, String(ctx.params['name']));
  });
  router.get('/denied/:name', (ctx: Context) => {
    ctx.status = 403;
    ctx.body = new StorageFile(storage, String(ctx.params['name']));
  });
  router.get('/typed', (ctx: Context) => {
    ctx.body = new StorageFile(storage, 'hello.txt', { filename: 'Invoice 2024/001.pdf' });
  });
  return router.routes();
}

describe('security: behind the real proxies, as docs/proxies/ configures them', function () {
  let fixture: Fixture;
  /** The answers of the streaming backend alone: what every offloading backend must match. */
  let streamed: TestServer;

  before(async function () {
    fixture = await createFixture();
    const storage = countingStorage(
      new FileSystemStorage({ location: fixture.filesDir, baseUrl: '/media/' }),
    );
    streamed = await serve(downloadview(), routes(storage, fixture.filesDir));
  });

  after(async function () {
    await streamed?.close();
    await rm(fixture.root, { recursive: true, force: true });
  });

  for (const kind of KINDS) {
    describe(kind, function () {
      const setup = SETUPS[kind];
      let storage: CountingStorage;
      let app: TestServer | undefined;
      let proxy: RunningProxy | undefined;
      const get = (path: string, headers: Record<string, string> = {}) =>
        request(`${proxy!.url}${path}`, { headers });

      before(async function () {
        requireBinary(this, kind);
        storage = countingStorage(
          new FileSystemStorage({ location: fixture.filesDir, baseUrl: '/media/' }),
        );
        const view = downloadview({
          backend: setup.backend(),
          rules: setup.rules(fixture.filesDir),
        });
        // koa-conditional-get before downloadview(), as apps write it, for /conditional/ only.
        const conditionalGet = conditional();
        const onlyConditional = (ctx: Context, next: Next) =>
          ctx.path.startsWith('/conditional/') ? conditionalGet(ctx, next) : next();
        app = await serve(onlyConditional, view, routes(storage, fixture.filesDir));
        const upstreamPort = Number(new URL(app.url).port);
        proxy = await startProxy(kind, { upstreamPort, filesDir: fixture.filesDir });
      });

      after(async function () {
        await proxy?.stop();
        await app?.close();
      });

      afterEach(function () {
        const serverErrors = (app?.errors ?? []).filter((err) => !('expose' in err && err.expose));
        expect(serverErrors.map(String)).to.deep.equal([]);
      });

      it('serves a file of the root, and a link to one, through the proxy (the baseline)', async function () {
        for (const path of ['/dl/hello.txt', '/dl/link-in.txt', '/p/hello.txt']) {
          const opens = storage.opens;
          const res = await get(path);
          expect([res.status, res.body.toString()], path).to.deep.equal([200, HELLO]);
          expect(storage.opens, `${path} was offloaded`).to.equal(opens);
          expect(leaked(res)).to.deep.equal([]);
        }
      });

      for (const path of [
        '/dl/link-out.txt',
        '/dl/dir-out/x.txt',
        '/p/link-out.txt',
        '/p/dir-out/x.txt',
        '/invoice/link-out.txt',
      ]) {
        it(`a symbolic link out of the root (${path}) answers 404 and never the outside bytes`, async function () {
          const res = await get(path);
          expect(res.status).to.equal(404);
          expect(res.body.toString()).not.to.include('SECRET');
          expect(leaked(res)).to.deep.equal([]);
        });
      }

      for (const path of [
        '/dl/.env',
        '/dl/.git/config',
        '/dl/sub/.hidden.txt',
        '/p/.env',
        '/p/.git/config',
        '/invoice/.env',
      ]) {
        it(`a dotfile (${path}) answers 404 by default`, async function () {
          const res = await get(path);
          expect(res.status).to.equal(404);
          expect(res.body.toString()).not.to.include('SECRET');
          expect(leaked(res)).to.deep.equal([]);
        });
      }

      for (const [what, path] of [
        ['a missing file', '/dl/missing.txt'],
        ['a missing file by path', '/p/missing.txt'],
        ['a name segment over the 255-byte limit', `/dl/${'a'.repeat(300)}.txt`],
      ] as const) {
        it(`${what} answers the same 404 as the streaming backend, with no download headers`, async function () {
          const [res, reference] = await Promise.all([get(path), request(streamed.url + path)]);
          expect(reference.status).to.equal(404);
          expect([res.status, res.body.toString()]).to.deep.equal([
            reference.status,
            reference.body.toString(),
          ]);
          expect(res.headers['content-type']).to.equal(reference.headers['content-type']);
          expect(res.headers['content-disposition']).to.equal(undefined);
          expect(leaked(res)).to.deep.equal([]);
        });
      }

      it("an offloaded download keeps the app's CORS and helmet headers", async function () {
        const res = await get('/cors/hello.txt', { Origin: 'https://app.example' });
        expect([res.status, res.body.toString()]).to.deep.equal([200, HELLO]);
        expect(res.headers['access-control-allow-origin']).to.equal('*');
        expect(res.headers['access-control-expose-headers']).to.equal(
          'Content-Disposition,Content-Range,Accept-Ranges,ETag',
        );
        expect(res.headers['x-content-type-options']).to.equal('nosniff');
        expect(res.headers['content-security-policy']).to.be.a('string');
        const part = await get('/cors/hello.txt', {
          Origin: 'https://app.example',
          Range: 'bytes=0-4',
        });
        expect([part.status, part.headers['access-control-allow-origin']]).to.deep.equal([
          206,
          '*',
        ]);
        expect(leaked(res)).to.deep.equal([]);
      });

      it('a name ending in a space is never read by the proxy as another file (victim.txt)', async function () {
        const res = await get(`/dl/${encodePath('victim.txt ')}`);
        expect([res.status, res.body.toString()]).to.deep.equal([200, 'mine\n']);
        expect(leaked(res)).to.deep.equal([]);
      });

      it('a route that set 403 beside its file fails closed: a 500, no byte of the file', async function () {
        const res = await get('/denied/hello.txt');
        expect(res.status).to.equal(500);
        expect(res.body.toString()).not.to.include(HELLO);
        expect(leaked(res)).to.deep.equal([]);
        app!.errors.length = 0; // the 500 is the expected report of the route's mistake
      });

      it('a 304 made by koa-conditional-get in front of downloadview() carries no offload header', async function () {
        const first = await get('/conditional/hello.txt');
        expect(first.status).to.equal(200);
        const etag = String(first.headers['etag']);
        const res = await get('/conditional/hello.txt', {
          'If-None-Match': etag,
          'Cache-Control': 'max-age=0',
        });
        expect(res.status, `ETag ${etag}`).to.equal(304);
        expect(res.body.length).to.equal(0);
        expect(leaked(res)).to.deep.equal([]);
      });

      it('takes the Content-Type from the extension, never from a filename holding "/"', async function () {
        const res = await get('/typed');
        expect(res.status).to.equal(200);
        expect(res.headers['content-type']).to.equal('application/pdf');
        expect(res.body.toString()).to.equal(HELLO);
      });
    });
  }

  for (const kind of KINDS) {
    describe(`${kind}: the auto backend, with clients that send offload headers themselves`, function () {
      const setup = SETUPS[kind];
      let storage: CountingStorage;
      let app: TestServer | undefined;
      let proxy: RunningProxy | undefined;
      const get = (path: string, headers: Record<string, string> = {}) =>
        request(`${proxy!.url}${path}`, { headers });

      before(async function () {
        requireBinary(this, kind);
        storage = countingStorage(new FileSystemStorage({ location: fixture.root }));
        const backend = auto({ trustedProxies: ['127.0.0.1'], sendfile: setup.sendfile });
        const router = new Router();
        router.get('/dl/*path', storageDownload({ storage }));
        app = await serve(downloadview({ backend }), router.routes());
        const upstreamPort = Number(new URL(app.url).port);
        proxy = await startProxy(kind, { upstreamPort, filesDir: fixture.filesDir });
      });

      after(async function () {
        await proxy?.stop();
        await app?.close();
      });

      const HOSTILE: Record<string, string>[] = [
        { 'X-Sendfile-Type': 'X-Sendfile' },
        { 'X-Sendfile-Type': 'X-Accel-Redirect', 'X-Accel-Mapping': '/=/protected/' },
        { 'X-Sendfile-Type': 'X-Accel-Redirect', 'X-Accel-Mapping': `${'/tmp'}/=/protected/` },
        { 'X-Accel-Mapping': '/=/protected/../' },
      ];

      it(`a file of the proxy's directory is ${setup.autoOffloads ? 'offloaded' : 'streamed'}, whatever the client sends`, async function () {
        for (const headers of [{}, ...HOSTILE]) {
          const opens = storage.opens;
          const res = await get('/dl/files/hello.txt', headers);
          const what = JSON.stringify(headers);
          expect([res.status, res.body.toString()], what).to.deep.equal([200, HELLO]);
          expect(storage.opens - opens, `${what}: opened by Koa`).to.equal(
            setup.autoOffloads ? 0 : 1,
          );
          expect(leaked(res), what).to.deep.equal([]);
        }
      });

      it("a file outside the proxy's directory is streamed by Koa, whatever the client sends", async function () {
        for (const headers of [{}, ...HOSTILE]) {
          const opens = storage.opens;
          const res = await get('/dl/secret.txt', headers);
          const what = JSON.stringify(headers);
          expect([res.status, res.body.toString()], what).to.deep.equal([200, SECRET]);
          expect(storage.opens - opens, `${what}: opened by Koa`).to.equal(1);
          expect(leaked(res), what).to.deep.equal([]);
        }
      });

      it('names that servers decode differently reach the right file (a%41.txt is not aA.txt)', async function () {
        for (const name of ['a%41.txt', 'aA.txt']) {
          const res = await get(`/dl/files/${encodePath(name)}`);
          expect([res.status, res.body.toString()], name).to.deep.equal([
            200,
            `bytes of ${name}\n`,
          ]);
        }
      });
    });
  }

  describe('nginx: a hostile remote origin behind the /remote/ location', function () {
    let origin: Server;
    let originUrl: string;
    let app: TestServer | undefined;
    let proxy: RunningProxy | undefined;

    before(async function () {
      requireBinary(this, 'nginx');
      // An origin that tries to steer nginx: offload headers of its own, and a cookie.
      origin = createServer((req, res) => {
        res.setHeader('X-Accel-Redirect', '/protected/hello.txt');
        res.setHeader('X-Accel-Limit-Rate', '1');
        res.setHeader('Set-Cookie', 'session=stolen; Path=/');
        res.setHeader('Content-Type', 'text/plain');
        res.setHeader('Content-Length', '13');
        res.end(req.method === 'HEAD' ? undefined : 'origin bytes\n');
      });
      await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
      originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}/`;
      const router = new Router();
      router.get('/from-origin', (ctx: Context) => {
        ctx.body = new HttpFile(`${originUrl}file.txt`);
      });
      const view = downloadview({
        backend: 'nginx',
        rules: [{ sourceUrl: originUrl, destinationUrl: '/remote/' }],
      });
      app = await serve(view, router.routes());
      const upstreamPort = Number(new URL(app.url).port);
      proxy = await startProxy('nginx', { upstreamPort, filesDir: fixture.filesDir });
    });

    after(async function () {
      await proxy?.stop();
      await app?.close();
      origin?.closeAllConnections();
      await new Promise((resolve) => origin?.close(resolve));
    });

    it("serves the origin's bytes: nginx obeys none of the origin's X-Accel-* headers", async function () {
      const started = Date.now();
      const res = await request(`${proxy!.url}/from-origin`);
      expect([res.status, res.body.toString()], await proxy!.logs()).to.deep.equal([
        200,
        'origin bytes\n',
      ]);
      expect(res.body.toString()).not.to.include(HELLO);
      expect(leaked(res)).to.deep.equal([]);
      // X-Accel-Limit-Rate: 1 would have taken 13 s.
      expect(Date.now() - started).to.be.below(5000);
    });

    it("does not pass the origin's Set-Cookie to the client", async function () {
      const res = await request(`${proxy!.url}/from-origin`);
      expect(res.status).to.equal(200);
      expect(res.headers['set-cookie']).to.equal(undefined);
    });
  });
});
