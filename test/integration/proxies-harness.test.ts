import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { http1Only } from '../support/transport.ts';
import { requireBinary } from './support/require-binary.ts';
import { startProxy, type ProxyKind, type RunningProxy } from './support/proxies.ts';

// The real proxies, configured from docs/proxies/, in front of a plain node:http "app" that
// answers downloads with an empty body plus the offload header, encoded as each proxy expects.

const HELLO = '0123456789abcdefghijklmnopqrstuvwxyz\n';
const SECRET = 'bytes outside the files dir';
const APP_TYPE = 'application/x-app-chosen';
const APP_DISPOSITION = 'attachment; filename="from-app.bin"';
/** Names whose bytes must survive each proxy's decoding of the offload header. */
const AWKWARD_NAMES = [
  'my file.txt',
  '100%.txt',
  '50%25.txt',
  'hash#.txt',
  'q?.txt',
  'a+b.txt',
  `it's "quoted".txt`,
  'отчёт.txt',
  '報告書.txt',
  'sub dir/nested ü.txt',
];
/** Caddy 2.6 takes the header value as a URI, where `?` starts the query. */
const CADDY_UNSERVABLE = 'q?.txt';

type OffloadHeaders = (filesDir: string, relativePath: string) => Record<string, string>;

const encodeSegments = (path: string) => path.split('/').map(encodeURIComponent).join('/');
/** Node writes header strings as latin1; this makes the bytes on the wire UTF-8. */
const rawUtf8 = (value: string) => Buffer.from(value, 'utf8').toString('latin1');

const OFFLOAD_HEADERS: Record<ProxyKind, OffloadHeaders> = {
  nginx: (_dir, path) => ({ 'X-Accel-Redirect': `/protected/${encodeSegments(path)}` }),
  apache: (dir, path) => ({ 'X-Sendfile': rawUtf8(`${dir}/${path}`) }),
  lighttpd: (dir, path) => ({ 'X-Sendfile': encodeSegments(`${dir}/${path}`) }),
  caddy: (_dir, path) => ({ 'X-Accel-Redirect': rawUtf8(`/protected/${path}`) }),
};
const OFFLOAD_HEADER_NAMES = ['x-accel-redirect', 'x-sendfile', 'x-offload-url'];

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

interface Fixture {
  root: string;
  filesDir: string;
  contents: Map<string, Buffer>;
}

/** files/ holds the downloads; secret.txt sits next to it, outside what may be offloaded. */
async function createFixture(): Promise<Fixture> {
  const root = await mkdtemp(join(tmpdir(), 'kdv-files-'));
  const filesDir = join(root, 'files');
  const contents = new Map<string, Buffer>([
    ['hello.txt', Buffer.from(HELLO)],
    ['big.bin', randomBytes(1024 * 1024)],
  ]);
  for (const name of AWKWARD_NAMES) contents.set(name, Buffer.from(`bytes of ${name}\n`));
  for (const [name, bytes] of contents) await writeWorldReadable(join(filesDir, name), bytes);
  await writeWorldReadable(join(root, 'secret.txt'), Buffer.from(`${SECRET}\n`));
  // nginx and Apache workers run unprivileged: every directory on the way must be 0755.
  await chmod(root, 0o755);
  return { root, filesDir, contents };
}

async function writeWorldReadable(file: string, bytes: Buffer): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o755 });
  await writeFile(file, bytes, { mode: 0o644 });
}

/**
 * A node:http server on a free 127.0.0.1 port answering the headers with an empty body: 200,
 * or the status a `/status/<code>/…` path names (an app, or a middleware, gone wrong).
 */
async function startApp(
  headersFor: (path: string) => Record<string, string> | undefined,
): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const status = /^\/status\/(\d{3})(\/.*)$/.exec(path);
    const headers = headersFor(status ? status[2]! : path);
    res.writeHead(headers === undefined ? 404 : Number(status?.[1] ?? 200), headers).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

function downloadApp(kind: ProxyKind, filesDir: string): Promise<Server> {
  return startApp((path) => {
    // /dl/<path> offloads files/<path>; /escape/<name> tries files/../<name>.
    const match = /^\/(dl|escape)\/(.+)$/.exec(path);
    if (match === null) return undefined;
    const relative = match[1] === 'dl' ? match[2]! : `../${match[2]!}`;
    const offload = OFFLOAD_HEADERS[kind](filesDir, relative);
    return { ...offload, 'Content-Type': APP_TYPE, 'Content-Disposition': APP_DISPOSITION };
  });
}

const portOf = (server: Server) => (server.address() as AddressInfo).port;

async function closeServer(server: Server | undefined): Promise<void> {
  if (server === undefined) return;
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
}

const leakedOffloadHeaders = (res: Response) =>
  OFFLOAD_HEADER_NAMES.filter((name) => res.headers.has(name));

describe('real reverse proxies with the configs from docs/proxies', function () {
  let fixture: Fixture;

  before(async function () {
    http1Only(this, 'the proxies in front of a plain node:http app, not of koa-downloadview');
    fixture = await createFixture();
  });

  after(async function () {
    if (fixture) await rm(fixture.root, { recursive: true, force: true });
  });

  for (const kind of Object.keys(OFFLOAD_HEADERS) as ProxyKind[]) {
    describe(kind, function () {
      let app: Server | undefined;
      let proxy: RunningProxy | undefined;
      const get = (path: string, headers: Record<string, string> = {}) =>
        fetch(`${proxy!.url}${path}`, { headers });
      const download = (name: string, headers?: Record<string, string>) =>
        get(`/dl/${encodeSegments(name)}`, headers);

      before(async function () {
        requireBinary(this, kind);
        app = await downloadApp(kind, fixture.filesDir);
        proxy = await startProxy(kind, { upstreamPort: portOf(app), filesDir: fixture.filesDir });
      });

      after(async function () {
        await proxy?.stop();
        await closeServer(app);
      });

      // The library answers offloads with 200 only; these are what a stray header would meet
      // (koa-conditional-get's 304, an error handler's 500): the proxy must not pass it on.
      for (const status of [304, 403, 500]) {
        it(`security: an offload header under status ${status} never reaches the client`, async function () {
          const res = await get(`/status/${status}/dl/hello.txt`);
          await res.arrayBuffer();
          expect(leakedOffloadHeaders(res), await proxy!.logs()).to.deep.equal([]);
        });
      }

      const servable = ['hello.txt', 'big.bin', ...AWKWARD_NAMES].filter(
        (name) => kind !== 'caddy' || name !== CADDY_UNSERVABLE,
      );
      for (const name of servable) {
        it(`serves ${JSON.stringify(name)} byte-identical, with the app's headers and no offload header`, async function () {
          const res = await download(name);
          const body = new Uint8Array(await res.arrayBuffer());
          expect(res.status, await proxy!.logs()).to.equal(200);
          expect(sha256(body)).to.equal(sha256(fixture.contents.get(name)!));
          expect(res.headers.get('content-type')).to.equal(APP_TYPE);
          expect(res.headers.get('content-disposition')).to.equal(APP_DISPOSITION);
          expect(leakedOffloadHeaders(res)).to.deep.equal([]);
        });
      }

      for (const [name, size] of [
        ['hello.txt', HELLO.length],
        ['big.bin', 1024 * 1024],
      ] as const) {
        it(`answers Range: bytes=0-9 on ${name} with 206 and its first 10 bytes`, async function () {
          const res = await download(name, { Range: 'bytes=0-9' });
          const body = Buffer.from(await res.arrayBuffer());
          expect(res.status).to.equal(206);
          expect(res.headers.get('content-range')).to.equal(`bytes 0-9/${size}`);
          expect(body.equals(fixture.contents.get(name)!.subarray(0, 10))).to.equal(true);
          expect(leakedOffloadHeaders(res)).to.deep.equal([]);
        });
      }

      it('never matches a bogus If-None-Match: "0" (Apache sends ETag "0" without FileETag None)', async function () {
        const res = await download('hello.txt', { 'If-None-Match': '"0"' });
        expect(await res.text()).to.equal(HELLO);
        expect(res.status).to.equal(200);
        expect(res.headers.get('etag')).not.to.equal('"0"');
      });

      if (kind === 'caddy') {
        it(`still cannot serve a name containing "?" (${CADDY_UNSERVABLE}): Caddy reads it as a query`, async function () {
          const res = await download(CADDY_UNSERVABLE);
          await res.arrayBuffer();
          expect(res.status).to.equal(404);
        });
      }

      describe('security: offload confinement', function () {
        it('refuses an offload path that climbs out of the files dir with ..', async function () {
          const res = await get('/escape/secret.txt');
          expect(await res.text()).not.to.include(SECRET);
          expect(res.status).to.be.oneOf([403, 404]);
        });

        it('does not serve the files dir by URL: a direct request reaches only the app', async function () {
          const paths = [
            '/protected/hello.txt',
            encodeSegments(join(fixture.filesDir, 'hello.txt')),
          ];
          for (const path of paths) {
            const res = await get(path);
            expect(await res.text()).not.to.equal(HELLO);
            expect(res.status, path).to.equal(404);
          }
        });
      });
    });
  }
});

describe('nginx remote variant: X-Accel-Redirect /remote/ + X-Offload-Url', function () {
  const OFFLOAD_PATH = '/bucket/a%2Fb%20c.txt?X-Amz-Signature=abc%2Fdef';
  let storage: Server | undefined;
  let app: Server | undefined;
  let proxy: RunningProxy | undefined;

  before(async function () {
    http1Only(this, 'nginx in front of a plain node:http app, not of koa-downloadview');
    requireBinary(this, 'nginx');
    storage = createServer((req: IncomingMessage, res) => {
      const { cookie, authorization, range } = req.headers;
      res.end(JSON.stringify({ url: req.url, cookie, authorization, range }));
    });
    await new Promise<void>((resolve) => storage!.listen(0, '127.0.0.1', resolve));
    const offloadUrl = `http://127.0.0.1:${portOf(storage)}${OFFLOAD_PATH}`;
    app = await startApp(() => ({ 'X-Accel-Redirect': '/remote/', 'X-Offload-Url': offloadUrl }));
    proxy = await startProxy('nginx', { upstreamPort: portOf(app), filesDir: tmpdir() });
  });

  after(async function () {
    await proxy?.stop();
    await closeServer(app);
    await closeServer(storage);
  });

  it('fetches the URL byte for byte, forwards Range and strips Cookie and Authorization', async function () {
    const headers = { Cookie: 'session=s3cret', Authorization: 'Bearer t0ken', Range: 'bytes=0-9' };
    const res = await fetch(`${proxy!.url}/anything`, { headers });
    const seen = (await res.json()) as Record<string, unknown>;
    expect(seen).to.deep.equal({ url: OFFLOAD_PATH, range: 'bytes=0-9' });
    expect(leakedOffloadHeaders(res)).to.deep.equal([]);
  });
});
