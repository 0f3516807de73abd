import Koa from 'koa';
import type { Context } from 'koa';
import Router from '@koa/router';
import {
  caddyAccelRedirect,
  downloadview,
  healthcheck,
  httpDownload,
  lighttpdSendfile,
  objectDownload,
  pathDownload,
  redirect,
  storageDownload,
  virtualDownload,
  xAccelRedirect,
  xSendfile,
  type Backend,
  type DownloadHook,
  type DownloadRule,
  type DownloadViewOptions,
  type MiddlewareBackendName,
} from '../src/index.ts';
import { FileSystemStorage } from '../storages/filesystem.ts';
import { MemoryStorage } from '../storages/memory.ts';
import type { S3Storage } from '../storages/s3.ts';
import type { DemoProxy } from './catalogue.ts';
import { TarStorage } from './custom-storage/tar-storage.ts';
import { homePage, servedPanel, type PageContext } from './home-page.ts';
import { materializedReportRoutes } from './materialized-report.ts';
import { servedBy } from './served-by.ts';
import { DEMO_ARCHIVE, DEMO_FILES, DEMO_MEDIA } from './storages.ts';

export { DEMO_FILES } from './storages.ts';

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

/** Backends the whole demo can run under (`DEMO_BACKEND`). */
export const DEMO_BACKENDS: readonly MiddlewareBackendName[] = [
  'stream',
  'nginx',
  'apache',
  'lighttpd',
  'caddy',
  'redirect',
  'auto',
];

/** What the demo runs beside the app, all optional. */
export interface DemoOptions {
  /** The embedded S3 server's storage and bucket URL (demo/storages.ts startDemoS3). */
  s3?: { storage: S3Storage; bucketUrl: string };
  /** The proxy in front, so the page can say who really sent the bytes. */
  proxy?: DemoProxy;
  /** Receives one line per download answered (the demo's access log). */
  log?: (line: string) => void;
}

/**
 * The app-wide rules for a proxy in front of the demo, configured from docs/proxies/ with
 * FILES_DIR = demo/files: the filesystem storage's files are offloaded, and under nginx the
 * S3 objects too (nginx fetches the presigned URL itself); the rest is streamed.
 */
function demoRules(backend: DownloadViewOptions['backend'], demo: DemoOptions): DownloadRule[] {
  const s3 = demo.s3?.bucketUrl;
  if (backend === 'nginx') {
    return [
      { sourceUrl: '/storage/', destinationUrl: '/protected/' },
      ...(s3 ? [{ sourceUrl: s3, destinationUrl: '/remote/' }] : []),
    ];
  }
  if (backend === 'caddy') return [{ sourceUrl: '/storage/', destinationUrl: '/protected/' }];
  if (backend === 'apache' || backend === 'lighttpd') {
    return [{ sourceUrl: '/storage/', destinationDir: DEMO_FILES }];
  }
  return [];
}

/**
 * The app-wide redirect backend of the demo: the redirect backend, for files whose URL is on
 * another server (the S3 objects' presigned URLs, HttpFile). The other storages' URLs are this
 * app's own routes, so redirecting to them would loop: those files are declined, and streamed.
 * A backend is any object with `name` and `deliver()`, so wrapping one takes a few lines.
 */
function redirectElsewhere(): Backend {
  const backend = redirect();
  return {
    name: 'redirect (to other servers)',
    async deliver(ctx, file, offload) {
      const url = await file.url();
      if (url === undefined || url.startsWith('/')) return false;
      return backend.deliver(ctx, file, offload);
    },
  };
}

/**
 * The app's `downloadview()` options for a demo backend: its rules, and for `auto` the proxy
 * it trusts. The demo listens on 127.0.0.1 only, so trusting that address trusts the proxy
 * started beside it (a browser on this host could send the headers too: fine for a demo).
 */
function appOptions(options: DownloadViewOptions, demo: DemoOptions): DownloadViewOptions {
  const rules = options.rules ?? demoRules(options.backend, demo);
  if (options.backend === 'redirect') {
    if (!demo.s3) throw new TypeError('DEMO_BACKEND=redirect needs the embedded S3 server');
    return { ...options, backend: redirectElsewhere(), rules };
  }
  if (options.backend !== 'auto') return { ...options, rules };
  return { trustedProxies: ['127.0.0.1'], ...options, rules };
}

/**
 * The demo app on embedded defaults: a filesystem storage over `demo/files`, a memory
 * storage, the custom TarStorage, S3 when its server runs, and one route per kind of download.
 *
 * @example
 * createDemoApp({ backend: 'stream' }, { s3: await startDemoS3() }).listen(3000);
 */
export function createDemoApp(options: DownloadViewOptions = {}, demo: DemoOptions = {}): Koa {
  const context: PageContext = {
    backend: String(options.backend ?? 'stream'),
    proxy: demo.proxy,
    s3: demo.s3?.bucketUrl,
  };
  const served = servedBy(demo.log);
  const router = new Router();
  router.get('/', (ctx) => {
    ctx.type = 'html';
    ctx.body = homePage(context);
  });
  router.get('/_demo/served', (ctx) => {
    ctx.type = 'html';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = servedPanel(served.recent(), context);
  });
  storageRoutes(router, demo);
  fileKindRoutes(router);
  materializedReportRoutes(router);
  routeBackendRoutes(router, demo, served.onDownload);
  const app = new Koa();
  app.use(served.middleware);
  app.use(downloadview({ onDownload: served.onDownload, ...appOptions(options, demo) }));
  app.use(router.routes());
  app.use(router.allowedMethods());
  return app;
}

const files = new FileSystemStorage({ location: DEMO_FILES, baseUrl: '/storage/' });

function storageRoutes(router: Router, demo: DemoOptions): void {
  const memory = new MemoryStorage({ baseUrl: '/memory/', files: demoMemoryFiles() });
  const media = new FileSystemStorage({ location: DEMO_MEDIA, baseUrl: '/video/' });
  router.get('/storage/*path', storageDownload({ storage: files }));
  // The probe of `npx koa-downloadview doctor`, through the same rules as /storage/.
  router.get('/health/download', healthcheck({ storage: files, name: 'health/probe.txt' }));
  router.get('/inline/*path', storageDownload({ storage: files, attachment: false }));
  router.get(
    '/compressed/*path',
    storageDownload({ storage: files, precompressed: ['br', 'gzip'], maxAge: 60_000 }),
  );
  router.get('/memory/*path', storageDownload({ storage: memory }));
  router.get('/video/*path', storageDownload({ storage: media, attachment: false }));
  router.get('/tar/*path', storageDownload({ storage: new TarStorage({ archive: DEMO_ARCHIVE }) }));
  if (demo.s3) router.get('/s3/*path', storageDownload({ storage: demo.s3.storage }));
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
}

function fileKindRoutes(router: Router): void {
  router.get('/path/*path', pathDownload({ root: DEMO_FILES }));
  router.get('/virtual/hello.txt', virtualDownload({ name: 'hello.txt', content: 'Hello!\n' }));
  router.get('/virtual/numbers.csv', virtualDownload({ name: 'numbers.csv', content: numbers }));
  // The demo fetches its own /path/ route as the "remote" server (not /storage/, which a proxy
  // backend offloads: the app's own answer is then empty), by the socket's own address: a URL
  // built from the Host header would let a client choose what the server fetches.
  router.get(
    '/http/*path',
    httpDownload({ url: (ctx) => `${ownOrigin(ctx)}/path/${ctx.params['path']}` }),
  );
}

function routeBackendRoutes(router: Router, demo: DemoOptions, onDownload: DownloadHook): void {
  // A backend for one route: the route's own downloadview() runs after its handler. Without
  // the S3 server, the filesystem storage's URL (this app's own /storage/ route) stands in.
  const redirected = demo.s3?.storage ?? files;
  router.get(
    '/redirect/*path',
    downloadview({ backend: 'redirect', onDownload }),
    storageDownload({ storage: redirected }),
  );
  router.get(
    '/auto/*path',
    downloadview({ backend: 'auto', trustedProxies: ['127.0.0.1'], onDownload }),
    storageDownload({ storage: files }),
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

function ownOrigin(ctx: Context): string {
  const { localAddress = '127.0.0.1', localPort } = ctx.req.socket;
  const host = localAddress.includes(':') ? `[${localAddress}]` : localAddress;
  return `http://${host}:${localPort}`;
}
