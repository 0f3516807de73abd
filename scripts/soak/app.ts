/**
 * The app under soak, run as its own process so the soak can read its RSS and open descriptors
 * from /proc. Usage:
 *
 *   node --import tsx scripts/soak/app.ts <files-dir> <cert.pem> <key.pem>
 *
 * `GET|HEAD /stream/<name>` streams the file from Node; `/offload/<name>` hands it to nginx with
 * X-Accel-Redirect (the rule of docs/proxies/nginx.conf). Both listen on a cleartext HTTP/1.1
 * port (nginx's upstream, and direct clients) and on a TLS port that speaks HTTP/2 and, for
 * clients without ALPN, HTTP/1.1. Prints one line `listening {"http":…,"https":…}` once bound.
 * `GET /soak/app-errors` answers the errors the app reported, counted by code.
 */
import type { Context } from 'koa';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { downloadview, nginx, storageDownload } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { createApp } from '../../test/support/koa.ts';

const [filesDir, certFile, keyFile] = process.argv.slice(2);
if (!filesDir || !certFile || !keyFile) {
  console.error('usage: app.ts <files-dir> <cert.pem> <key.pem>');
  process.exit(2);
}

/** The file's name: the path after its first segment (`/stream/1m.bin` → `1m.bin`). */
const nameInPath = (ctx: Context) => ctx.path.slice(ctx.path.indexOf('/', 1) + 1);
/** Streamed: this storage publishes no URL, so no offload rule can match its files. */
const streamed = storageDownload({
  storage: new FileSystemStorage({ location: filesDir }),
  path: nameInPath,
});
/** Offloaded: published under /offload/, which the nginx rule maps to /protected/. */
const offloaded = storageDownload({
  storage: new FileSystemStorage({ location: filesDir, baseUrl: '/offload/' }),
  path: nameInPath,
});

const appErrors = new Map<string, number>();
const app = createApp();
// Clients of the soak hang up mid-download on purpose; Koa reports each hang-up as an error.
// They are counted by code (and answered at /soak/app-errors) rather than printed.
app.on('error', (err: NodeJS.ErrnoException) => {
  const code = err.code ?? err.name;
  appErrors.set(code, (appErrors.get(code) ?? 0) + 1);
});
app.use(
  downloadview({
    backend: nginx(),
    rules: [{ sourceUrl: '/offload/', destinationUrl: '/protected/' }],
  }),
);
app.use(async (ctx: Context) => {
  if (ctx.path === '/soak/app-errors') ctx.body = Object.fromEntries(appErrors);
  else if (ctx.path.startsWith('/stream/')) await streamed(ctx);
  else if (ctx.path.startsWith('/offload/')) await offloaded(ctx);
});

const plain = createServer(app.callback());
const secure = createSecureServer(
  { cert: readFileSync(certFile), key: readFileSync(keyFile), allowHTTP1: true },
  app.callback(),
);
await Promise.all(
  [plain, secure].map(
    (server) => new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve)),
  ),
);
const port = (server: { address(): AddressInfo | string | null }) =>
  (server.address() as AddressInfo).port;
console.log(`listening ${JSON.stringify({ http: port(plain), https: port(secure) })}`);
