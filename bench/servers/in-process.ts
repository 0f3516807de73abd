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
import { register } from 'node:module';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Duplex } from 'node:stream';
import type * as Library from '../../src/index.ts';
import type * as MemoryModule from '../../storages/memory.ts';
import {
  EVENT_CONTENDERS,
  FILE_CONTENDERS,
  fileCount,
  JS_CONTENDERS,
  RULE_CONTENDERS,
  ruleCount,
} from '../lib/in-process-contenders.ts';

const IN_PROCESS_CONTENDERS = [
  ...JS_CONTENDERS,
  ...EVENT_CONTENDERS,
  ...RULE_CONTENDERS,
  ...FILE_CONTENDERS,
] as const;
type InProcessContender = (typeof IN_PROCESS_CONTENDERS)[number];

const [contender, count] = process.argv.slice(2) as [InProcessContender, string];
if (!IN_PROCESS_CONTENDERS.includes(contender)) throw new Error(`unknown contender ${contender}`);

// Before anything loads the API: the library loads it lazily, on its first download.
const telemetry = await prepareTelemetry(contender);

const dist = (path: string) => new URL(`../../dist/${path}`, import.meta.url).href;
const { downloadview, storageDownload } = (await import(dist('src/index.js'))) as typeof Library;
const { MemoryStorage } = (await import(dist('storages/memory.js'))) as typeof MemoryModule;

/**
 * Puts the process in the telemetry state the contender names, and returns a check, run after
 * the warm-up, that the state is the one measured (an SDK that records nothing, or an API that
 * loads after all, would make the figure a lie).
 */
async function prepareTelemetry(which: InProcessContender): Promise<() => Promise<void>> {
  if (which === 'events: API absent') {
    register('../lib/block-otel-api.mjs', import.meta.url);
    return async () => {
      const found = await import('@opentelemetry/api').then(
        () => true,
        () => false,
      );
      if (found) throw new Error('@opentelemetry/api loaded although it is blocked');
    };
  }
  if (which !== 'events: SDK, traces + metrics') return () => Promise.resolve();
  const { metrics, trace } = await import('@opentelemetry/api');
  const { BasicTracerProvider } = await import('@opentelemetry/sdk-trace-base');
  const { MeterProvider, MetricReader } = await import('@opentelemetry/sdk-metrics');
  // Spans are recorded but not exported, and counters aggregated until collected: the cost of
  // the library's instrumentation, not of an exporter.
  class CollectedOnDemand extends MetricReader {
    protected override onForceFlush = () => Promise.resolve();
    protected override onShutdown = () => Promise.resolve();
  }
  const reader = new CollectedOnDemand();
  trace.setGlobalTracerProvider(new BasicTracerProvider());
  metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
  return async () => {
    const { resourceMetrics } = await reader.collect();
    const counted = resourceMetrics.scopeMetrics.some((scope) => scope.metrics.length > 0);
    if (!counted) throw new Error('the SDK counted no download');
  };
}

const NAME = 'small-1KiB.bin';
const NAMES = contender.startsWith('files: ')
  ? Array.from(
      { length: fileCount(contender as (typeof FILE_CONTENDERS)[number]) },
      (_, i) => `f${i}.bin`,
    )
  : [NAME];
const CONTENT = Buffer.alloc(1024, 7);
const MODIFIED = new Date('2026-01-01T00:00:00Z');

/** Offloaded to nginx by the last of `count` rules; the others name other URL prefixes. */
function offloadOptions(count: number): Library.DownloadViewOptions {
  const rules: Library.DownloadRule<'nginx'>[] = [];
  for (let i = 1; i < count; i++) rules.push({ sourceUrl: `/other/${i}/`, destinationUrl: '/p/' });
  rules.push({ sourceUrl: '/media/', destinationUrl: '/protected/' });
  return { backend: 'nginx', rules };
}

function app(contender: InProcessContender): Koa {
  const koa = new Koa();
  koa.silent = true;
  const router = new Router();
  if ((FILE_CONTENDERS as readonly string[]).includes(contender)) {
    koa.use(downloadview());
    // One buffer for every name: the memory measured is the library's, not the files'.
    const files = Object.fromEntries(NAMES.map((name) => [name, CONTENT]));
    router.get('/files/*path', storageDownload({ storage: new MemoryStorage({ files }) }));
  } else if ((RULE_CONTENDERS as readonly string[]).includes(contender)) {
    koa.use(downloadview(offloadOptions(ruleCount(contender as (typeof RULE_CONTENDERS)[number]))));
    const storage = new MemoryStorage({ files: { [NAME]: CONTENT }, baseUrl: '/media/' });
    router.get('/files/*path', storageDownload({ storage }));
  } else if (contender !== 'bare Koa handler') {
    koa.use(
      downloadview(
        contender === 'events: onDownload hook, telemetry off'
          ? { onDownload: () => undefined, telemetry: false }
          : {},
      ),
    );
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

function download(handler: Handler): Promise<ServerResponse> {
  return new Promise((resolve) => {
    const socket = new DiscardingSocket();
    const req = new IncomingMessage(socket as never);
    req.method = 'GET';
    req.url = `/files/${NAMES[Math.floor(Math.random() * NAMES.length)]}`;
    req.headers = { host: 'bench', 'user-agent': 'bench' };
    req.push(null);
    const res = new ServerResponse(req);
    res.assignSocket(socket as never);
    res.on('finish', () => {
      res.detachSocket(socket as never);
      resolve(res);
    });
    handler(req, res);
  });
}

const downloads = Number(count);
const handler = app(contender).callback();
// Warm-up, discarded: the JIT compiles the path first.
for (let i = 0; i < Math.min(downloads, 5000); i++) await download(handler);
const { statusCode, getHeader } = await download(handler).then((res) => ({
  statusCode: res.statusCode,
  getHeader: (name: string) => res.getHeader(name),
}));
if (statusCode !== 200) throw new Error(`${contender} answered ${statusCode}`);
// A rule that matched nothing would measure streaming instead of the offload it names.
if (contender.startsWith('rules: ') && getHeader('X-Accel-Redirect') !== `/protected/${NAME}`) {
  throw new Error(
    `${contender} did not offload: X-Accel-Redirect ${getHeader('X-Accel-Redirect')}`,
  );
}
await telemetry();
const rssBefore = process.memoryUsage().rss;
const before = process.cpuUsage();
for (let i = 0; i < downloads; i++) await download(handler);
const cpu = process.cpuUsage(before);
const rssGrowthMiB = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
console.log(JSON.stringify({ cpuMicroseconds: (cpu.user + cpu.system) / downloads, rssGrowthMiB }));
