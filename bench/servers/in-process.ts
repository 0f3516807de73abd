/**
 * Scenario "js": the JavaScript one download costs, with neither network nor disk in the way.
 * A Koa app is driven in this process through Node's own IncomingMessage and ServerResponse
 * over a socket that discards what it is given; the file comes from memory. Over wrk, every
 * request also pays the kernel, the thread pool and the scheduler of a shared machine, which
 * drown a few microseconds; here the same code gives the same figure run after run. Usage:
 *
 *   node --import tsx bench/servers/in-process.ts <contender> <downloads>
 *
 * Prints one line of JSON: `{"cpuMicroseconds": …}`, the process's CPU time per download.
 */
import Router from '@koa/router';
import Koa from 'koa';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import type * as Library from '../../src/index.ts';
import type * as MemoryModule from '../../storages/memory.ts';

const dist = (path: string) => new URL(`../../dist/${path}`, import.meta.url).href;
const { downloadview, storageDownload } = (await import(dist('src/index.js'))) as typeof Library;
const { MemoryStorage } = (await import(dist('storages/memory.js'))) as typeof MemoryModule;

/** The contenders this script can be, named as the benchmark (bench/run.ts) reports them. */
const IN_PROCESS_CONTENDERS = ['koa-downloadview', 'bare Koa handler'] as const;
type InProcessContender = (typeof IN_PROCESS_CONTENDERS)[number];

const NAME = 'small-1KiB.bin';
const CONTENT = Buffer.alloc(1024, 7);
const MODIFIED = new Date('2026-01-01T00:00:00Z');

function app(contender: InProcessContender): Koa {
  const koa = new Koa();
  koa.silent = true;
  const router = new Router();
  if (contender === 'koa-downloadview') {
    koa.use(downloadview());
    router.get(
      '/files/*path',
      storageDownload({ storage: new MemoryStorage({ files: { [NAME]: CONTENT } }) }),
    );
  } else {
    // The least a handler does to send the same bytes with the same headers, nothing checked.
    router.get('/files/*path', (ctx) => {
      ctx.set({
        'Content-Type': 'application/octet-stream',
        'Content-Disposition': `attachment; filename="${NAME}"`,
        'Last-Modified': MODIFIED.toUTCString(),
        ETag: '"400-19b77a4d400"',
        'Accept-Ranges': 'bytes',
      });
      ctx.body = CONTENT;
    });
  }
  koa.use(router.routes());
  return koa;
}

/** A socket that accepts every write at once and never sends anything. */
class DiscardingSocket extends Duplex {
  override _read(): void {}
  override _write(_chunk: unknown, _encoding: BufferEncoding, callback: () => void): void {
    callback();
  }
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

function download(handler: Handler): Promise<number> {
  return new Promise((resolve) => {
    const socket = new DiscardingSocket();
    const req = new IncomingMessage(socket as never);
    req.method = 'GET';
    req.url = `/files/${NAME}`;
    req.headers = { host: 'bench', 'user-agent': 'bench' };
    req.push(null);
    const res = new ServerResponse(req);
    res.assignSocket(socket as never);
    res.on('finish', () => {
      res.detachSocket(socket as never);
      resolve(res.statusCode);
    });
    handler(req, res);
  });
}

const [contender, count] = process.argv.slice(2) as [InProcessContender, string];
if (!IN_PROCESS_CONTENDERS.includes(contender)) throw new Error(`unknown contender ${contender}`);
const downloads = Number(count);
const handler = app(contender).callback();
// Warm-up, discarded: the JIT compiles the path first.
for (let i = 0; i < Math.min(downloads, 5000); i++) await download(handler);
const status = await download(handler);
if (status !== 200) throw new Error(`${contender} answered ${status}`);
const before = process.cpuUsage();
for (let i = 0; i < downloads; i++) await download(handler);
const cpu = process.cpuUsage(before);
console.log(JSON.stringify({ cpuMicroseconds: (cpu.user + cpu.system) / downloads }));
