import Koa from 'koa';
import type { Context } from 'koa';
import Router from '@koa/router';
import { fileURLToPath } from 'node:url';
import {
  caddyAccelRedirect,
  downloadview,
  httpDownload,
  lighttpdSendfile,
  objectDownload,
  pathDownload,
  storageDownload,
  virtualDownload,
  xAccelRedirect,
  xSendfile,
  type DownloadRule,
  type DownloadViewOptions,
  type MiddlewareBackendName,
} from '../src/index.ts';
import { FileSystemStorage } from '../storages/filesystem.ts';
import { MemoryStorage } from '../storages/memory.ts';

/** The demo's files on disk, shipped in the repository. */
export const DEMO_FILES = fileURLToPath(new URL('./files/', import.meta.url));

/** A record type, as an app's database would hold: the file field is a storage name. */
interface Invoice {
  id: string;
  owner: string;
  pdf: string;
  title: string;
}

const INVOICES: Invoice[] = [
  { id: '1', owner: 'ada', pdf: 'invoices/2026-001.txt', title: 'Invoice № 1 (Ada).txt' },
  { id: '2', owner: 'grace', pdf: 'invoices/2026-002.txt', title: 'Invoice № 2 (Grace).txt' },
];

/** Lists every download the demo offers: [link, what it shows]. */
const LINKS: [string, string][] = [
  ['/storage/hello.txt', 'StorageFile on the filesystem storage'],
  ['/storage/reports/résumé 2026.csv', 'a Unicode name with a space (RFC 8187 filename*)'],
  ['/inline/data.json', 'inline instead of attachment'],
  ['/memory/big.bin', 'a 4 MiB file in the memory storage (try Range requests)'],
  ['/path/hello.txt', 'pathDownload confined to the demo folder'],
  ['/virtual/hello.txt', 'generated text (VirtualFile from a string)'],
  ['/virtual/numbers.csv', 'a generated stream of unknown length (chunked, no ranges)'],
  ['/invoices/1', 'objectDownload: the file a record holds'],
  ['/invoices/2', '… the same route, 403 when the record is not yours (you are ada)'],
  ['/remote/hello.txt', 'HttpFile: a file fetched from another HTTP server (here, this one)'],
  ['/redirect/big.bin', 'the redirect backend: 302 to the file URL, which streams it'],
  ['/nginx/hello.txt', 'nginx X-Accel-Redirect (empty 200 + header: put nginx in front)'],
  ['/apache/hello.txt', 'Apache X-Sendfile (empty 200 + header: put Apache in front)'],
  ['/lighttpd/hello.txt', 'lighttpd X-Sendfile (empty 200 + header: put lighttpd in front)'],
  ['/caddy/hello.txt', 'Caddy X-Accel-Redirect (empty 200 + header: put Caddy in front)'],
];

/**
 * Backends the whole demo can run under (`DEMO_BACKEND`). Not 'redirect': the demo's file URLs
 * are its own routes, so redirecting every file to its URL would loop; /redirect/ shows it.
 */
export const DEMO_BACKENDS: readonly MiddlewareBackendName[] = [
  'stream',
  'nginx',
  'apache',
  'lighttpd',
  'caddy',
];

/**
 * The app-wide rules for a proxy in front of the demo, configured from docs/proxies/ with
 * FILES_DIR = demo/files: the filesystem storage's files are offloaded, the rest is streamed.
 */
function demoRules(backend: DownloadViewOptions['backend']): DownloadRule[] {
  if (backend === 'nginx' || backend === 'caddy') {
    return [{ sourceUrl: '/storage/', destinationUrl: '/protected/' }];
  }
  if (backend === 'apache' || backend === 'lighttpd') {
    return [{ sourceUrl: '/storage/', destinationDir: DEMO_FILES }];
  }
  return [];
}

/**
 * The demo app on embedded defaults: a filesystem storage over `demo/files`, a memory storage,
 * and one route per kind of download.
 *
 * @example
 * createDemoApp().listen(3000);
 */
export function createDemoApp(options: DownloadViewOptions = {}): Koa {
  const configured = { ...options, rules: options.rules ?? demoRules(options.backend) };
  const files = new FileSystemStorage({ location: DEMO_FILES, baseUrl: '/storage/' });
  const memory = new MemoryStorage({ baseUrl: '/memory/', files: demoMemoryFiles() });
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = homePage();
  });
  router.get('/storage/*path', storageDownload({ storage: files }));
  router.get('/inline/*path', storageDownload({ storage: files, attachment: false }));
  router.get('/memory/*path', storageDownload({ storage: memory }));
  router.get('/path/*path', pathDownload({ root: DEMO_FILES }));
  router.get('/virtual/hello.txt', virtualDownload({ name: 'hello.txt', content: 'Hello!\n' }));
  router.get('/virtual/numbers.csv', virtualDownload({ name: 'numbers.csv', content: numbers }));
  router.get(
    '/invoices/:id',
    (ctx, next) => {
      const invoice = INVOICES.find((i) => i.id === ctx.params['id']);
      if (invoice && invoice.owner !== 'ada') ctx.throw(403, 'not your invoice');
      return next();
    },
    objectDownload<Invoice>({
      load: (ctx) => INVOICES.find((i) => i.id === ctx.params['id']),
      storage: memory,
      field: 'pdf',
      filenameField: 'title',
    }),
  );
  // The demo fetches its own /storage/ route as the "remote" server, by the socket's own
  // address: a URL built from the Host header would let a client choose what the server fetches.
  router.get(
    '/remote/*path',
    httpDownload({ url: (ctx) => `${ownOrigin(ctx)}/storage/${ctx.params['path']}` }),
  );
  // A backend for one route: the route's own downloadview() runs after its handler.
  router.get(
    '/redirect/*path',
    downloadview({ backend: 'redirect' }),
    storageDownload({ storage: memory }),
  );
  // The per-route wrappers: the response is what the proxy expects, so without that proxy in
  // front the browser gets an empty file; `curl -i` shows the header.
  const onDisk = storageDownload({ storage: files });
  const byPath = { sourceDir: DEMO_FILES };
  router.get('/nginx/*path', xAccelRedirect(onDisk, { ...byPath, destinationUrl: '/protected/' }));
  router.get('/apache/*path', xSendfile(onDisk, { ...byPath, destinationDir: DEMO_FILES }));
  router.get(
    '/lighttpd/*path',
    lighttpdSendfile(onDisk, { ...byPath, destinationDir: DEMO_FILES }),
  );
  router.get(
    '/caddy/*path',
    caddyAccelRedirect(onDisk, { ...byPath, destinationUrl: '/protected/' }),
  );
  const app = new Koa();
  app.use(downloadview(configured));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

async function* numbers(): AsyncGenerator<string> {
  yield 'n,square\n';
  for (let n = 1; n <= 1000; n++) yield `${n},${n * n}\n`;
}

function demoMemoryFiles(): Record<string, Uint8Array> {
  const big = Buffer.alloc(4 * 1024 * 1024);
  for (let i = 0; i < big.length; i++) big[i] = i % 251;
  return {
    'big.bin': big,
    'invoices/2026-001.txt': Buffer.from('Invoice 2026-001\nAda Lovelace\nTotal: 42 EUR\n'),
    'invoices/2026-002.txt': Buffer.from('Invoice 2026-002\nGrace Hopper\nTotal: 7 EUR\n'),
  };
}

function homePage(): string {
  const items = LINKS.map(
    ([href, text]) => `<li><a href="${encodeURI(href)}">${href}</a> — ${text}</li>`,
  );
  return `<!doctype html><meta charset="utf-8"><title>koa-downloadview demo</title>
<h1>koa-downloadview demo</h1><ul>${items.join('')}</ul>`;
}

function ownOrigin(ctx: Context): string {
  const { localAddress = '127.0.0.1', localPort } = ctx.req.socket;
  const host = localAddress.includes(':') ? `[${localAddress}]` : localAddress;
  return `http://${host}:${localPort}`;
}
