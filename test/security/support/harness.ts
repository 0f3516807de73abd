import Router from '@koa/router';
import type { Context } from 'koa';
import { execFile } from 'node:child_process';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingHttpHeaders,
} from 'node:http';
import { link, mkdir, mkdtemp, readdir, readlink, realpath, rm, symlink } from 'node:fs/promises';
import { chmod, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import {
  apache,
  auto,
  caddy,
  downloadview,
  lighttpd,
  nginx,
  pathDownload,
  redirect,
  storageDownload,
  type Backend,
  type DownloadRule,
} from '../../../src/index.ts';
import { FileSystemStorage } from '../../../storages/filesystem.ts';
import { countingStorage, type CountingStorage } from '../../support/fixtures.ts';
import { serve, type TestServer } from '../../support/koa.ts';
import { requireBinary } from '../../integration/support/require-binary.ts';
import { startProxy, type RunningProxy } from '../../integration/support/proxies.ts';

// The harness every hostile-input table runs through: one fixture tree, and one app per
// backend, each behind its real proxy (configured from docs/proxies/) where it has one, all
// started once per test file. A table row is sent to every backend and its answer checked.

/** Every backend a table row runs through. */
export const BACKENDS = [
  'stream',
  'nginx',
  'apache',
  'lighttpd',
  'caddy',
  'redirect',
  'auto',
] as const;
export type BackendKind = (typeof BACKENDS)[number];

/** Bytes a test must never see in any answer: every outside file holds them. */
export const SECRET = 'SECRET-outside-the-root';
export const HELLO = 'hello from inside the root\n';
/** The bytes of the hard link inside the root (its inode also has a name outside it). */
export const LINKED = 'bytes of an inode named inside and outside the root\n';

/** Statuses a refused input may get: a clear client error, never a 500 or a hang. */
export const CLEAR_REFUSALS = [400, 403, 404, 412, 414, 416, 431] as const;

export interface Fixture {
  /** Holds files/ (the storage root) and, beside it, the outside files. */
  root: string;
  filesDir: string;
  /** The longest name that still fits under PATH_MAX, relative to filesDir. */
  deepName: string;
  /** A remote origin answering HELLO for any path, ending with `/` (nginx's /remote/ rule). */
  originUrl: string;
  cleanup(): Promise<void>;
}

const run = promisify(execFile);

/** A UNIX socket bound at `path`; its server is closed by the fixture's cleanup. */
function listenUnix(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

/**
 * files/ holds ordinary files and every shape of hostile entry: links out (file, directory,
 * parent), loops, a hard link to an inode with an outside name, a FIFO, a UNIX socket,
 * dotfiles, names at the length limits. Beside it: secret.txt and outside/, which no answer
 * may ever carry. World-readable: proxy workers run unprivileged.
 */
export async function createFixture(): Promise<Fixture> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'kdv-hostile-')));
  await chmod(root, 0o755);
  const filesDir = join(root, 'files');
  const put = async (path: string, text: string) => {
    await mkdir(dirname(path), { recursive: true, mode: 0o755 });
    await writeFile(path, text, { mode: 0o644 });
  };
  await put(join(root, 'secret.txt'), `${SECRET}\n`);
  await put(join(root, 'outside', 'x.txt'), `${SECRET} x\n`);
  await put(join(root, 'linked-outside.txt'), LINKED);
  await put(join(filesDir, 'hello.txt'), HELLO);
  await put(join(filesDir, 'sub', 'hello.txt'), HELLO);
  await put(join(filesDir, '.env'), `${SECRET} env\n`);
  await put(join(filesDir, '.git', 'config'), `${SECRET} git\n`);
  await put(join(filesDir, 'sub', '.hidden'), `${SECRET} hidden\n`);
  await put(join(filesDir, '%2e%2e', 'secret.txt'), 'a directory literally named %2e%2e\n');
  await put(join(filesDir, NAME_255), HELLO);
  await put(join(filesDir, 'big.bin'), BIG_BYTES.toString('latin1'));
  await symlink('../secret.txt', join(filesDir, 'link-out.txt'));
  await symlink('/etc/passwd', join(filesDir, 'link-abs'));
  await symlink('../outside', join(filesDir, 'dir-out'));
  await symlink('..', join(filesDir, 'up'));
  await symlink('.', join(filesDir, 'here'));
  await symlink('hello.txt', join(filesDir, 'link-in.txt'));
  await symlink('loop-b', join(filesDir, 'loop-a'));
  await symlink('loop-a', join(filesDir, 'loop-b'));
  await symlink('self', join(filesDir, 'self'));
  await symlink('missing-target', join(filesDir, 'dangling'));
  await link(join(root, 'linked-outside.txt'), join(filesDir, 'hardlink.txt'));
  await run('mkfifo', ['-m', '0644', join(filesDir, 'fifo')]);
  await mkdir(join(filesDir, 'dir'), { mode: 0o755 });
  const socket = await listenUnix(join(filesDir, 'socket'));
  const deepName = await deepTree(filesDir);
  const origin = createHttpServer((req, res) => res.end(req.method === 'HEAD' ? undefined : HELLO));
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
  const { port } = origin.address() as { port: number };
  return {
    root,
    filesDir,
    deepName,
    originUrl: `http://127.0.0.1:${port}/`,
    cleanup: async () => {
      origin.closeAllConnections();
      await new Promise((resolve) => origin.close(resolve));
      await new Promise((resolve) => socket.close(resolve));
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** 255 bytes: the longest file name ext4, tmpfs and most others take. */
export const NAME_255 = `${'n'.repeat(251)}.txt`;
/** 1 MiB whose every 4-byte word differs, for the range shapes. */
export const BIG_BYTES = Buffer.from(
  Array.from({ length: 1 << 18 }, (_, i) => (i % 0x10000).toString(16).padStart(4, '0')).join(''),
);

/**
 * Directories of 200-byte names down to a file whose absolute path is 4090 bytes long, just
 * under PATH_MAX (4096 with its NUL): the deepest name a filesystem storage can still open.
 */
async function deepTree(filesDir: string): Promise<string> {
  const segments: string[] = [];
  let path = filesDir;
  while (path.length + 1 + 200 + 1 + 20 < 4090) {
    const segment = `${segments.length}`.padStart(200, 'd');
    segments.push(segment);
    path = join(path, segment);
  }
  const file = 'f'.repeat(4090 - path.length - 1);
  await mkdir(path, { recursive: true, mode: 0o755 });
  await writeFile(join(path, file), HELLO, { mode: 0o644 });
  return [...segments, file].join('/');
}

/** What each app serves: the same routes behind every backend. */
export type Routes = (storage: CountingStorage, fixture: Fixture) => Router;

/** The routes every table uses: a storage by route parameter, and a path under a root. */
export function baseRouter(storage: CountingStorage, fixture: Fixture): Router {
  const router = new Router();
  router.get('/dl/*path', storageDownload({ storage }));
  router.get('/p/*path', pathDownload({ root: fixture.filesDir }));
  router.get('/health', (ctx: Context) => {
    ctx.body = 'ok';
  });
  return router;
}

/** One backend's app, reached through its proxy where it has one. */
export interface Endpoint {
  kind: BackendKind;
  /** Where requests go: the proxy, or the app itself for stream and redirect. */
  host: string;
  port: number;
  app: TestServer;
  storage: CountingStorage;
  proxy?: RunningProxy;
}

const PROXIED: Partial<Record<BackendKind, 'nginx' | 'apache' | 'lighttpd' | 'caddy'>> = {
  nginx: 'nginx',
  apache: 'apache',
  lighttpd: 'lighttpd',
  caddy: 'caddy',
  // auto behind nginx: the published nginx.conf sets X-Sendfile-Type and X-Accel-Mapping.
  auto: 'nginx',
};

/**
 * The backend and rules for each kind, as the README writes them: by the storage's URL and by
 * its directory, to the location docs/proxies/ configures.
 */
function middlewareFor(kind: BackendKind, { filesDir, originUrl }: Fixture) {
  const toUrl: DownloadRule[] = [
    { sourceUrl: '/media/', destinationUrl: '/protected/' },
    { sourceDir: filesDir, destinationUrl: '/protected/' },
  ];
  const toDir: DownloadRule[] = [
    { sourceUrl: '/media/', destinationDir: filesDir },
    { sourceDir: filesDir, destinationDir: filesDir },
  ];
  const backends: Record<BackendKind, () => { backend?: Backend; rules?: DownloadRule[] }> = {
    stream: () => ({}),
    // Remote files by URL to the /remote/ location (X-Offload-Url), as docs/backends.md shows.
    nginx: () => ({
      backend: nginx(),
      rules: [{ sourceUrl: originUrl, destinationUrl: '/remote/' }, ...toUrl],
    }),
    apache: () => ({ backend: apache(), rules: toDir }),
    lighttpd: () => ({ backend: lighttpd(), rules: toDir }),
    caddy: () => ({ backend: caddy(), rules: toUrl }),
    redirect: () => ({ backend: redirect() }),
    auto: () => ({ backend: auto({ trustedProxies: ['127.0.0.1'] }) }),
  };
  return downloadview(backends[kind]());
}

/**
 * Defines, for each backend kind, a suite that starts its app (and its proxy) once, in `before`,
 * and stops it in `after`; `define` adds the rows. A missing proxy skips that backend's rows
 * loudly (fails on CI), through require-binary.ts. Each app has its own counting storage, so
 * rows can check what Koa opened and that nothing stayed open.
 */
export function forEachBackend(
  getFixture: () => Fixture,
  define: (kind: BackendKind, endpoint: () => Endpoint) => void,
  {
    routes = baseRouter,
    kinds = BACKENDS,
  }: { routes?: Routes; kinds?: readonly BackendKind[] } = {},
): void {
  for (const kind of kinds) {
    describe(kind, function () {
      let endpoint: Endpoint | undefined;
      before(async function () {
        const proxyKind = PROXIED[kind];
        if (proxyKind !== undefined) requireBinary(this, proxyKind);
        endpoint = await startEndpoint(getFixture(), kind, routes);
      });
      after(async function () {
        await endpoint?.proxy?.stop();
        await endpoint?.app.close();
      });
      define(kind, () => endpoint!);
    });
  }
}

async function startEndpoint(
  fixture: Fixture,
  kind: BackendKind,
  routes: Routes,
): Promise<Endpoint> {
  const storage = countingStorage(
    new FileSystemStorage({ location: fixture.filesDir, baseUrl: '/media/' }),
  );
  const app = await serve(middlewareFor(kind, fixture), routes(storage, fixture).routes());
  const endpoint: Endpoint = { kind, host: '127.0.0.1', port: portOf(app.url), app, storage };
  const proxyKind = PROXIED[kind];
  if (proxyKind === undefined) return endpoint;
  try {
    endpoint.proxy = await startProxy(proxyKind, {
      upstreamPort: endpoint.port,
      filesDir: fixture.filesDir,
    });
  } catch (err) {
    await app.close();
    throw err;
  }
  endpoint.port = endpoint.proxy.port;
  return endpoint;
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** An answer as it came over the wire, or how the exchange failed. */
export interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  /** Header lines exactly as sent (names and values, in order). */
  rawHeaders: string[];
  body: Buffer;
  ms: number;
  /** `timeout`: no complete answer in time; `parse`: a malformed answer; else a socket error. */
  failure?: string;
}

/**
 * One request with the path sent byte for byte: no URL parsing (which would resolve `..`,
 * `%2e` and `\`), a fresh connection, strict parsing of the answer (a header Node refuses to
 * parse is a failure, not an answer), headers up to 1 MiB read, and a deadline.
 */
export function send(
  endpoint: Pick<Endpoint, 'host' | 'port'>,
  path: string,
  options: { method?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer> {
  const { method = 'GET', headers = {}, timeoutMs = 5000 } = options;
  const started = Date.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (answer: Omit<Answer, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ...answer, ms: Date.now() - started });
    };
    const fail = (failure: string) =>
      finish({ status: 0, headers: {}, rawHeaders: [], body: Buffer.alloc(0), failure });
    const req = httpRequest({
      host: endpoint.host,
      port: endpoint.port,
      path,
      method,
      headers: { Connection: 'close', ...headers },
      maxHeaderSize: 1 << 20,
      insecureHTTPParser: false,
    });
    const timer = setTimeout(() => fail('timeout'), timeoutMs);
    req.on('error', (err: NodeJS.ErrnoException) =>
      fail(err.code?.startsWith('HPE_') ? `parse: ${err.code}` : String(err.code ?? err)),
    );
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', (err) => fail(`body: ${String(err)}`));
      res.on('end', () =>
        finish({
          status: res.statusCode ?? 0,
          headers: res.headers,
          rawHeaders: res.rawHeaders,
          body: Buffer.concat(chunks),
        }),
      );
    });
    req.end();
  });
}

/** Offload headers that must never reach a client. */
const OFFLOAD_HEADERS = [
  'x-accel-redirect',
  'x-sendfile',
  'x-offload-url',
  'x-accel-limit-rate',
  'x-accel-buffering',
  'x-accel-charset',
  'x-accel-expires',
];

/**
 * What must hold for every answer, whatever the row: an answer came (no hang, nothing Node's
 * strict parser refuses), no 5xx, no offload header and no byte of an outside file, and no
 * header value holding a control character. Returns the violations, empty when none.
 */
export function invariantViolations(answer: Answer): string[] {
  const problems: string[] = [];
  if (answer.failure) problems.push(`no answer: ${answer.failure} after ${answer.ms} ms`);
  if (answer.status >= 500) problems.push(`status ${answer.status}`);
  if (answer.body.includes(SECRET)) problems.push('outside bytes in the body');
  const leaked = OFFLOAD_HEADERS.filter((name) => answer.headers[name] !== undefined);
  if (leaked.length > 0) problems.push(`offload headers reached the client: ${leaked.join(', ')}`);
  for (let i = 0; i < answer.rawHeaders.length; i += 2) {
    // eslint-disable-next-line no-control-regex -- a control character is the failure
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(answer.rawHeaders[i + 1] ?? '')) {
      problems.push(`control character in ${answer.rawHeaders[i]}`);
    }
  }
  return problems;
}

/** Descriptors of this process open on anything under `dir` (Linux /proc), for leak checks. */
export async function descriptorsUnder(dir: string): Promise<string[]> {
  const fds = await readdir('/proc/self/fd').catch(() => [] as string[]);
  const targets = await Promise.all(
    fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
  );
  return targets.filter((target) => target.startsWith(`${dir}/`) || target === dir);
}

/** Errors an app reported that are not a client's 4xx: each one is a 500 somewhere. */
export function serverErrors(app: TestServer): string[] {
  return app.errors
    .filter((err) => !('expose' in err && err.expose === true))
    .map((err) => `${err.name}: ${err.message}`);
}
