import Router from '@koa/router';
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Context, Next } from 'koa';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { formatContentDisposition } from '../../src/http/disposition.ts';
import type { Backend } from '../../src/backends/backend.ts';
import {
  apache,
  caddy,
  caddyAccelRedirect,
  downloadview,
  lighttpd,
  lighttpdSendfile,
  nginx,
  storageDownload,
  virtualDownload,
  xAccelRedirect,
  xSendfile,
  type DownloadRule,
  type RouteHandler,
} from '../../src/index.ts';
import { countingStorage, type CountingStorage } from '../support/fixtures.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { requireBinary } from './support/require-binary.ts';
import { startProxy, type ProxyKind, type RunningProxy } from './support/proxies.ts';

// The library itself (downloadview, its backends, rules and route wrappers) behind the real
// nginx, Apache + mod_xsendfile, lighttpd and Caddy, configured from docs/proxies/.

const HELLO = '0123456789abcdefghijklmnopqrstuvwxyz\n';
const SECRET = 'bytes beside the storage root';
const BIG_SIZE = 2 * 1024 * 1024;
/** Names that each server decodes differently from the offload header. */
const AWKWARD_NAMES = [
  'my file.txt',
  '100%.txt',
  '50%25.txt',
  'hash#.txt',
  'q?.txt',
  'semi;colon.txt',
  'a+b.txt',
  `it's "quoted".txt`,
  'отчёт.txt',
  '報告書.txt',
  'sub dir/nested ü.txt',
];
/** Caddy 2.6 reads the header value as a URI, where `?` starts a query: the backend declines. */
const CADDY_DECLINED = 'q?.txt';
const OFFLOAD_HEADERS = ['x-accel-redirect', 'x-sendfile', 'x-offload-url'];

interface ProxySetup {
  backend: () => Backend;
  /** The rule matching the storage published under /media/ (matched by URL). */
  urlRule: DownloadRule;
  /** The per-route wrapper, with a rule matching the files directory (matched by path). */
  wrap: (handler: RouteHandler, filesDir: string) => RouteHandler;
}

const SETUPS: Record<ProxyKind, (filesDir: string) => ProxySetup> = {
  nginx: () => ({
    backend: () => nginx({ expires: 'off' }),
    urlRule: { sourceUrl: '/media/', destinationUrl: '/protected/' },
    wrap: (handler, dir) =>
      xAccelRedirect(handler, { sourceDir: dir, destinationUrl: '/protected/' }),
  }),
  apache: (filesDir) => ({
    backend: apache,
    urlRule: { sourceUrl: '/media/', destinationDir: filesDir },
    wrap: (handler, dir) => xSendfile(handler, { sourceDir: dir, destinationDir: dir }),
  }),
  lighttpd: (filesDir) => ({
    backend: lighttpd,
    urlRule: { sourceUrl: '/media/', destinationDir: filesDir },
    wrap: (handler, dir) => lighttpdSendfile(handler, { sourceDir: dir, destinationDir: dir }),
  }),
  caddy: () => ({
    backend: caddy,
    urlRule: { sourceUrl: '/media/', destinationUrl: '/protected/' },
    wrap: (handler, dir) =>
      caddyAccelRedirect(handler, { sourceDir: dir, destinationUrl: '/protected/' }),
  }),
};

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const encodeSegments = (path: string) => path.split('/').map(encodeURIComponent).join('/');
const baseName = (name: string) => name.slice(name.lastIndexOf('/') + 1);
const leakedOffloadHeaders = (res: Response) => OFFLOAD_HEADERS.filter((h) => res.headers.has(h));

interface Fixture {
  root: string;
  /** What the proxies may serve: the rules point here. */
  filesDir: string;
  /** Files no rule covers: Koa streams them. */
  otherDir: string;
  contents: Map<string, Buffer>;
}

/** Every directory 0755 and file 0644: nginx and Apache workers run unprivileged. */
async function createFixture(): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'kdv-offload-'));
  await chmod(root, 0o755);
  const filesDir = join(root, 'files');
  const otherDir = join(root, 'other');
  const contents = new Map<string, Buffer>([
    ['hello.txt', Buffer.from(HELLO)],
    ['big.bin', randomBytes(BIG_SIZE)],
  ]);
  for (const name of AWKWARD_NAMES) contents.set(name, Buffer.from(`bytes of ${name}\n`));
  for (const [name, bytes] of contents) {
    await writeWorldReadable(join(filesDir, name), bytes);
    await writeWorldReadable(join(otherDir, name), bytes);
  }
  await writeWorldReadable(join(root, 'secret.txt'), Buffer.from(SECRET));
  return { root, filesDir, otherDir, contents };
}

async function writeWorldReadable(file: string, bytes: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o755 });
  await writeFile(file, bytes, { mode: 0o644 });
}

interface Storages {
  /** Published under /media/: offloaded by the app-wide URL rule. */
  media: CountingStorage;
  /** The same files with no URL: offloaded only by the per-route wrapper's path rule. */
  wrapped: CountingStorage;
  /** Outside every rule: streamed by Koa. */
  other: CountingStorage;
}

function createStorages(fixture: Fixture): Storages {
  const { filesDir, otherDir } = fixture;
  return {
    media: countingStorage(new FileSystemStorage({ location: filesDir, baseUrl: '/media/' })),
    wrapped: countingStorage(new FileSystemStorage({ location: filesDir })),
    other: countingStorage(new FileSystemStorage({ location: otherDir, baseUrl: '/other/' })),
  };
}

/** The app a user would write: routes say what to download, downloadview() decides how. */
function createApp(kind: ProxyKind, fixture: Fixture, storages: Storages) {
  const setup = SETUPS[kind](fixture.filesDir);
  const router = new Router();
  const denyAll = (ctx: Context) => ctx.throw(403, 'not yours');
  router.get('/dl/*path', async (ctx: Context, next: Next) => {
    ctx.set('Cache-Control', 'private, max-age=60');
    ctx.set('X-Route', 'dl');
    await next();
  });
  router.get('/dl/*path', storageDownload({ storage: storages.media }));
  router.get('/forbidden/*path', denyAll, storageDownload({ storage: storages.media }));
  router.get('/other/*path', storageDownload({ storage: storages.other }));
  router.get(
    '/wrapped/*path',
    setup.wrap(storageDownload({ storage: storages.wrapped }), fixture.filesDir),
  );
  router.get('/virtual', virtualDownload({ content: HELLO, name: 'generated.txt' }));
  const cache = { maxAge: 86_400_000, immutable: true };
  router.get('/cached/*path', storageDownload({ storage: storages.media, ...cache }));
  router.get('/cached-streamed/*path', storageDownload({ storage: storages.other, ...cache }));
  return serve(downloadview({ backend: setup.backend(), rules: [setup.urlRule] }), router.routes());
}

describe('downloadview behind the real proxies (docs/proxies configs)', function () {
  let fixture: Fixture;

  before(async function () {
    fixture = await createFixture();
  });

  after(async function () {
    await rm(fixture.root, { recursive: true, force: true });
  });

  for (const kind of Object.keys(SETUPS) as ProxyKind[]) {
    describe(kind, function () {
      let storages: Storages;
      let app: TestServer | undefined;
      let proxy: RunningProxy | undefined;
      const get = (path: string, headers: Record<string, string> = {}) =>
        fetch(`${proxy!.url}${path}`, { headers });
      const expectBytes = async (res: Response, expected: Buffer) => {
        const body = new Uint8Array(await res.arrayBuffer());
        expect(sha256(body), await proxy!.logs()).to.equal(sha256(expected));
      };

      before(async function () {
        requireBinary(this, kind);
        storages = createStorages(fixture);
        app = await createApp(kind, fixture, storages);
        const upstreamPort = Number(new URL(app.url).port);
        proxy = await startProxy(kind, { upstreamPort, filesDir: fixture.filesDir });
      });

      after(async function () {
        await proxy?.stop();
        await app?.close();
      });

      // Koa reports every thrown error, the route's deliberate 403 included; only server
      // errors would mean the library failed.
      afterEach(function () {
        const serverErrors = (app?.errors ?? []).filter((err) => !('expose' in err && err.expose));
        expect(serverErrors).to.deep.equal([]);
      });

      const offloadable = ['hello.txt', 'big.bin', ...AWKWARD_NAMES].filter(
        (name) => kind !== 'caddy' || name !== CADDY_DECLINED,
      );
      for (const name of offloadable) {
        it(`proxy serves ${JSON.stringify(name)} byte-identical; Koa never opens it`, async function () {
          const opens = storages.media.opens;
          const res = await get(`/dl/${encodeSegments(name)}`);
          expect(res.status, await proxy!.logs()).to.equal(200);
          await expectBytes(res, fixture.contents.get(name)!);
          expect(storages.media.opens).to.equal(opens);
          expect(res.headers.get('content-disposition')).to.equal(
            formatContentDisposition(baseName(name), true),
          );
          const type = name.endsWith('.txt')
            ? 'text/plain; charset=utf-8'
            : 'application/octet-stream';
          expect(res.headers.get('content-type')).to.equal(type);
          expect(res.headers.get('cache-control')).to.equal('private, max-age=60');
          expect(leakedOffloadHeaders(res)).to.deep.equal([]);
        });
      }

      if (kind === 'caddy') {
        it(`streams ${JSON.stringify(CADDY_DECLINED)} from Koa, since Caddy cannot serve a "?" name`, async function () {
          const opens = storages.media.opens;
          const res = await get(`/dl/${encodeSegments(CADDY_DECLINED)}`);
          expect(res.status).to.equal(200);
          await expectBytes(res, fixture.contents.get(CADDY_DECLINED)!);
          expect(storages.media.opens).to.equal(opens + 1);
          expect(leakedOffloadHeaders(res)).to.deep.equal([]);
        });
      }

      for (const [range, start, end] of [
        ['bytes=0-9', 0, 9],
        ['bytes=-10', BIG_SIZE - 10, BIG_SIZE - 1],
        ['bytes=1000000-1000099', 1_000_000, 1_000_099],
      ] as const) {
        it(`answers Range: ${range} itself with 206 and the right bytes`, async function () {
          const opens = storages.media.opens;
          const res = await get('/dl/big.bin', { Range: range });
          expect(res.status).to.equal(206);
          expect(res.headers.get('content-range')).to.equal(`bytes ${start}-${end}/${BIG_SIZE}`);
          await expectBytes(res, fixture.contents.get('big.bin')!.subarray(start, end + 1));
          expect(storages.media.opens).to.equal(opens);
        });
      }

      it('answers a revalidation with the validators it sent: 304, no body', async function () {
        const first = await get('/dl/hello.txt');
        await first.arrayBuffer();
        const etag = first.headers.get('etag');
        expect(etag).to.match(/^(W\/)?"[^"]+"$/);
        expect(etag).not.to.equal('"0"');
        const res = await get('/dl/hello.txt', { 'If-None-Match': etag! });
        expect(res.status).to.equal(304);
        expect(await res.text()).to.equal('');
      });

      it('keeps a 403 decided by the route: no file bytes, no offload header', async function () {
        const res = await get('/forbidden/hello.txt');
        expect(res.status).to.equal(403);
        expect(await res.text()).not.to.include(HELLO);
        expect(leakedOffloadHeaders(res)).to.deep.equal([]);
      });

      it('keeps the 404 of a missing file: no offload header', async function () {
        const res = await get('/dl/missing.txt');
        expect(res.status).to.equal(404);
        await res.arrayBuffer();
        expect(leakedOffloadHeaders(res)).to.deep.equal([]);
      });

      // Some proxies (lighttpd) decode %2F and resolve the dots before forwarding; either way
      // the request must end in a 404 without a byte of the file beside the storage root.
      it('answers 404 to a name climbing out of the storage (..%2F), never the bytes', async function () {
        const res = await get('/dl/..%2Fsecret.txt');
        expect(res.status).to.equal(404);
        expect(await res.text()).not.to.include(SECRET);
        expect(leakedOffloadHeaders(res)).to.deep.equal([]);
      });

      it('streams from Koa a file no rule matches, ranges included', async function () {
        const opens = storages.other.opens;
        const whole = await get('/other/big.bin');
        expect(whole.status).to.equal(200);
        await expectBytes(whole, fixture.contents.get('big.bin')!);
        const part = await get(`/other/${encodeSegments('отчёт.txt')}`, { Range: 'bytes=0-4' });
        expect(part.status).to.equal(206);
        expect(await part.text()).to.equal('bytes');
        expect(storages.other.opens).to.equal(opens + 2);
        expect(leakedOffloadHeaders(whole)).to.deep.equal([]);
      });

      for (const [route, how] of [
        ['/cached', 'offloaded'],
        ['/cached-streamed', 'streamed'],
      ]) {
        it(`keeps the route helper's maxAge and immutable on a file ${how} (${route})`, async function () {
          const res = await get(`${route}/hello.txt`);
          expect(res.status, await proxy!.logs()).to.equal(200);
          await expectBytes(res, Buffer.from(HELLO));
          expect(res.headers.get('cache-control')).to.equal('private, max-age=86400, immutable');
          expect(leakedOffloadHeaders(res)).to.deep.equal([]);
        });
      }

      it('sends no Cache-Control of the helper with the 404 of a missing file', async function () {
        const res = await get('/cached/missing.txt');
        expect(res.status).to.equal(404);
        expect(res.headers.get('cache-control')).to.equal(null);
      });

      it('streams a virtual file from Koa', async function () {
        const res = await get('/virtual');
        expect(res.status).to.equal(200);
        expect(await res.text()).to.equal(HELLO);
        expect(res.headers.get('content-disposition')).to.equal(
          formatContentDisposition('generated.txt', true),
        );
      });

      for (const name of ['big.bin', 'отчёт.txt']) {
        it(`offloads ${JSON.stringify(name)} through the per-route wrapper (path rule)`, async function () {
          const opens = storages.wrapped.opens;
          const res = await get(`/wrapped/${encodeSegments(name)}`);
          expect(res.status, await proxy!.logs()).to.equal(200);
          await expectBytes(res, fixture.contents.get(name)!);
          expect(storages.wrapped.opens).to.equal(opens);
          expect(leakedOffloadHeaders(res)).to.deep.equal([]);
        });
      }
    });
  }
});
