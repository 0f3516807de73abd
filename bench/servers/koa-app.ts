/**
 * One benchmark contender: a Koa app in its own process, so the benchmark can read its CPU time
 * and memory from /proc. Usage:
 *
 *   node --import tsx bench/servers/koa-app.ts <contender> <files-dir> [s3-endpoint s3-bucket | file-name]
 *
 * The S3 contenders take the endpoint and bucket; the ceiling takes the name of the file it holds.
 *
 * Every contender answers `GET /files/<name>` in the same app shape (one router route, no
 * other middleware) and prints `listening <port>` once bound. Beside the app, on the same
 * server, `GET /__bench/gc` answers the process's garbage collections so far, by kind, and
 * `POST /__bench/gc` runs a full collection first (under `--expose-gc`).
 */
import Router from '@koa/router';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import send from '@fastify/send';
import Koa from 'koa';
import koaSend from 'koa-send';
import { readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { s3Client } from '../../support/s3-server.ts';
import { countGarbageCollections, GC_COUNTS_PATH } from '../lib/gc.ts';
import type * as Library from '../../src/index.ts';
import type * as FileSystemModule from '../../storages/filesystem.ts';
import type * as S3Module from '../../storages/s3.ts';

// The compiled package (`npm run build`, which `npm run bench` runs first), as an app runs it:
// through the TypeScript loader every request paid about 12% more (16.4k vs 14.4k req/s).
const dist = (path: string) => new URL(`../../dist/${path}`, import.meta.url).href;
const { downloadview, storageDownload } = (await import(dist('src/index.js'))) as typeof Library;
const { FileSystemStorage } = (await import(
  dist('storages/filesystem.js')
)) as typeof FileSystemModule;
const { S3Storage } = (await import(dist('storages/s3.js'))) as typeof S3Module;

/** The contenders this process can be, named as the benchmark reports them. */
export const KOA_CONTENDERS = [
  'koa-downloadview',
  'koa-send',
  '@fastify/send',
  'koa-downloadview+nginx',
  'minimal-x-accel',
  'koa-downloadview s3',
  'raw GetObject pipe',
  'Koa from memory (ceiling)',
] as const;
export type KoaContender = (typeof KOA_CONTENDERS)[number];

function route(contender: KoaContender, filesDir: string, extra: string[]): Koa.Middleware {
  const name = (ctx: Koa.Context) => String(ctx.params['path']);
  switch (contender) {
    case 'koa-downloadview': {
      // Set only by the chunk-size scenario; otherwise the library's default.
      const readChunkSize = Number(process.env['BENCH_READ_CHUNK_SIZE']) || undefined;
      const storage = new FileSystemStorage({ location: filesDir, readChunkSize });
      return storageDownload({ storage });
    }
    case 'koa-downloadview+nginx':
      return storageDownload({
        storage: new FileSystemStorage({ location: filesDir, baseUrl: '/files/' }),
      });
    case 'koa-send':
      return (ctx) => koaSend(ctx, name(ctx), { root: filesDir }).then(() => undefined);
    case '@fastify/send':
      return async (ctx) => {
        const { statusCode, headers, stream } = await send(ctx.req, `/${name(ctx)}`, {
          root: filesDir,
        });
        ctx.status = statusCode;
        ctx.body = stream;
        ctx.set(headers);
      };
    case 'minimal-x-accel':
      // The least a hand-written Koa handler can do to offload: no stat, no checks.
      return (ctx) => {
        ctx.set('X-Accel-Redirect', `/protected/${name(ctx)}`);
        ctx.body = '';
      };
    case 'koa-downloadview s3': {
      const [endpoint, bucket] = extra as [string, string];
      return storageDownload({ storage: new S3Storage({ client: s3Client(endpoint), bucket }) });
    }
    case 'raw GetObject pipe': {
      const [endpoint, bucket] = extra as [string, string];
      const client = s3Client(endpoint);
      return async (ctx) => {
        const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: name(ctx) }));
        ctx.set('Content-Length', String(object.ContentLength));
        ctx.type = object.ContentType ?? 'application/octet-stream';
        ctx.body = object.Body as Readable;
      };
    }
    case 'Koa from memory (ceiling)':
      return fromMemory(join(filesDir, extra[0]!));
  }
}

/**
 * The most a Koa route can do for a small file: the bytes and the header values that
 * koa-downloadview sends for it, read and formatted once at startup, so that a request costs
 * Koa and the network alone. The library reads the file and checks the request every time, so
 * this is a ceiling it can approach but not reach.
 */
function fromMemory(path: string): Koa.Middleware {
  const content = readFileSync(path);
  const modified = statSync(path).mtime;
  const headers = {
    'Content-Type': 'application/octet-stream',
    ETag: `"${Math.floor(modified.getTime() / 1000).toString(16)}-${content.length.toString(16)}"`,
    'Last-Modified': modified.toUTCString(),
    'Content-Disposition': `attachment; filename="${path.slice(path.lastIndexOf('/') + 1)}"`,
    'Accept-Ranges': 'bytes',
  };
  // Koa sets Content-Length from the Buffer.
  return (ctx) => {
    ctx.set(headers);
    ctx.body = content;
  };
}

const [contender, filesDir, ...extra] = process.argv.slice(2) as [
  KoaContender,
  string,
  ...string[],
];
if (!KOA_CONTENDERS.includes(contender) || !filesDir) {
  console.error(
    `usage: koa-app.ts <${KOA_CONTENDERS.join('|')}> <files-dir> [endpoint bucket | file-name]`,
  );
  process.exit(2);
}
const app = new Koa();
// wrk and the slow clients hang up mid-response by design; Koa would log each as an error.
app.silent = true;
const router = new Router();
if (contender === 'koa-downloadview+nginx') {
  app.use(
    downloadview({
      backend: 'nginx',
      rules: [{ sourceUrl: '/files/', destinationUrl: '/protected/' }],
    }),
  );
} else if (contender.startsWith('koa-downloadview')) {
  app.use(downloadview());
}
router.get('/files/*path', route(contender, filesDir, extra));
app.use(router.routes());
const gcCounts = countGarbageCollections();
const handle = app.callback();
const server = createServer((req, res) => {
  if (req.url !== GC_COUNTS_PATH) return void handle(req, res);
  if (req.method === 'POST') {
    if (!globalThis.gc) return void res.writeHead(409).end('start the process with --expose-gc');
    globalThis.gc();
  }
  res.setHeader('Content-Type', 'application/json');
  res.end(JSON.stringify(gcCounts));
});
// The connections sweep holds up to 10,000 connections open and idle while it opens the rest
// and reads the RSS: Node's 5 s keep-alive timeout would close the first ones before then.
server.keepAliveTimeout = 120_000;
// wrk opens its 10,000 connections at once; SYNs past the default backlog of 511 would be
// retried a second later, inside the measured time. The kernel caps it at net.core.somaxconn.
const BACKLOG = 8192;
server.listen(0, '127.0.0.1', BACKLOG, () => {
  console.log(`listening ${(server.address() as AddressInfo).port}`);
});
