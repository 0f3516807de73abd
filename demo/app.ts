import Koa from 'koa';
import Router from '@koa/router';
import { fileURLToPath } from 'node:url';
import {
  downloadview,
  objectDownload,
  pathDownload,
  storageDownload,
  virtualDownload,
  type DownloadViewOptions,
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
];

/**
 * The demo app on embedded defaults: a filesystem storage over `demo/files`, a memory storage,
 * and one route per kind of download.
 *
 * @example
 * createDemoApp().listen(3000);
 */
export function createDemoApp(options: DownloadViewOptions = {}): Koa {
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
  const app = new Koa();
  app.use(downloadview(options));
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
