import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { sampleRss } from '../../bench/lib/proc.ts';
import { startProxy, type RunningProxy } from '../../test/integration/support/proxies.ts';
import { startApp, type AppProcess } from './app-process.ts';
import { makeSelfSigned } from './certificate.ts';
import { writeSoakFiles, type SoakFile } from './files.ts';
import { http1Transport } from './http1-transport.ts';
import { http2Transport } from './http2-transport.ts';
import { Random } from './random.ts';
import type { Validators } from './requests.ts';
import { emptyTally, runTraffic, type Tally } from './traffic.ts';
import type { Transport, TransportName } from './transport.ts';

export interface SoakOptions {
  seconds: number;
  /** Virtual clients, each with one request in flight at a time. */
  clients: number;
  seed: number;
  /** Traffic before the baseline is taken, so that it holds warmed-up pools and code. */
  warmupSeconds?: number;
}

/**
 * The most the app's RSS may grow over the run, from its reading after warm-up to the peak
 * sampled during it. Measured (2 shared cores, 200–300 clients, 30–180 s): growth of 5 to
 * 40 MiB, peaks of 180 to 205 MiB. The bound is three times the largest growth seen: V8 lets
 * Buffer memory grow by about 64 MiB before it collects (docs/performance.md, s5), so a
 * tighter bound would fail on when a collection falls. A server without backpressure holds
 * the whole 64 MiB file for each slow reader of it and goes past this with two of them; a
 * leak of one 64 KiB read buffer per aborted download (thousands of them per run) goes past it
 * as well.
 */
export const RSS_GROWTH_LIMIT = 128 * 1024 * 1024;

export interface SoakReport {
  options: SoakOptions;
  clients: Record<TransportName, number>;
  tally: Tally;
  warmup: Tally;
  elapsedSeconds: number;
  requestsPerSecond: number;
  rss: { baseline: number; peak: number; growth: number; limit: number };
  descriptors: { baseline: number; after: number };
  /** Errors the app reported (`app.on('error')`), by code: client hang-ups show up here. */
  appErrors: Record<string, number>;
  /** Every broken expectation; the soak passed when this is empty. */
  problems: string[];
}

/**
 * How the clients are shared out: HTTP/1.1 direct, behind nginx, HTTP/2 over TLS, and a few
 * HTTP/1.1 over TLS (the HTTP/2 server's allowHTTP1 path). nginx gets at most 100: the
 * documented configuration allows 256 worker connections, and each offloaded download holds a
 * client connection plus, for a moment, one to the app.
 */
export function shareClients(total: number): Record<TransportName, number> {
  const nginx = Math.min(100, Math.round(total * 0.3));
  const http2 = Math.round(total * 0.3);
  const tls1 = Math.round(total * 0.1);
  return { nginx, 'http2-tls': http2, 'http1-tls': tls1, http1: total - nginx - http2 - tls1 };
}

/** Runs the whole soak: files, certificate, app process, nginx, warm-up, traffic, readings. */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const workDir = await mkdtemp(join(tmpdir(), 'kdv-soak-'));
  let app: AppProcess | undefined;
  let proxy: RunningProxy | undefined;
  try {
    const { dir, files } = await writeSoakFiles(workDir);
    const certificate = await makeSelfSigned(workDir);
    app = await startApp(dir, certificate);
    proxy = await startProxy('nginx', { upstreamPort: app.httpPort, filesDir: dir });
    const clients = shareClients(options.clients);
    const transports = makeTransports(app, proxy, certificate.cert, clients);
    return await measure(options, app, files, transports, clients);
  } finally {
    await proxy?.stop();
    await app?.stop();
    await rm(workDir, { recursive: true, force: true });
  }
}

function makeTransports(
  app: AppProcess,
  proxy: RunningProxy,
  ca: string,
  clients: Record<TransportName, number>,
): Record<TransportName, Transport> {
  const stream = '/stream/';
  return {
    http1: http1Transport({
      name: 'http1',
      port: app.httpPort,
      prefix: stream,
      maxSockets: clients.http1,
    }),
    'http1-tls': http1Transport({
      name: 'http1-tls',
      port: app.httpsPort,
      prefix: stream,
      maxSockets: clients['http1-tls'],
      ca,
    }),
    'http2-tls': http2Transport({
      port: app.httpsPort,
      prefix: stream,
      sessions: Math.max(1, Math.ceil(clients['http2-tls'] / 10)),
      ca,
    }),
    nginx: http1Transport({
      name: 'nginx',
      port: proxy.port,
      prefix: '/offload/',
      maxSockets: clients.nginx,
    }),
  };
}

async function measure(
  options: SoakOptions,
  app: AppProcess,
  files: SoakFile[],
  transports: Record<TransportName, Transport>,
  clients: Record<TransportName, number>,
): Promise<SoakReport> {
  const random = new Random(options.seed);
  const everyClient = (Object.keys(clients) as TransportName[]).flatMap((name) =>
    Array.from({ length: clients[name] }, () => transports[name]),
  );
  const validators = await readValidators(Object.values(transports), files);
  const traffic = (seconds: number, tally: Tally) =>
    runTraffic(
      { clients: everyClient, files, validators, random, until: Date.now() + seconds * 1000 },
      tally,
    );

  const warmup = emptyTally();
  await traffic(options.warmupSeconds ?? 5, warmup);
  await closeAll(transports);
  const baselineFds = await settledDescriptors(app);
  const baselineRss = app.rssBytes();

  const tally = emptyTally();
  const rss = sampleRss(app.pid, 100);
  const started = performance.now();
  await traffic(options.seconds, tally);
  const elapsedSeconds = (performance.now() - started) / 1000;
  const peakRss = rss.stop();
  await closeAll(transports);
  const afterFds = await settledDescriptors(app, baselineFds);
  const appErrors = await readAppErrors(app);

  const report: SoakReport = {
    options,
    clients,
    tally,
    warmup,
    elapsedSeconds,
    requestsPerSecond: tally.requests / elapsedSeconds,
    rss: {
      baseline: baselineRss,
      peak: peakRss,
      growth: peakRss - baselineRss,
      limit: RSS_GROWTH_LIMIT,
    },
    descriptors: { baseline: baselineFds, after: afterFds },
    appErrors,
    problems: [],
  };
  report.problems = judge(report);
  return report;
}

/** The ETag and Last-Modified each transport sees for each file, read once with HEAD. */
async function readValidators(
  transports: Transport[],
  files: SoakFile[],
): Promise<(transport: TransportName, file: SoakFile) => Validators> {
  const known = new Map<string, Validators>();
  for (const transport of transports) {
    for (const file of files) {
      const got = await transport.send({
        method: 'HEAD',
        path: `${transport.prefix}${file.name}`,
        headers: {},
      });
      const { etag, 'last-modified': lastModified } = got.headers;
      if (got.status !== 200 || !etag || !lastModified) {
        throw new Error(`${transport.name} HEAD ${file.name}: ${got.status}, no validators`);
      }
      known.set(`${transport.name} ${file.name}`, { etag, lastModified });
    }
  }
  return (transport, file) => {
    const found = known.get(`${transport} ${file.name}`);
    if (!found) throw new Error(`no validators for ${transport} ${file.name}`);
    return found;
  };
}

async function closeAll(transports: Record<TransportName, Transport>): Promise<void> {
  await Promise.all(Object.values(transports).map((transport) => transport.close()));
}

/** Closed connections take a moment to leave the app: nginx's, TLS shutdowns, HTTP/2 GOAWAY. */
const SETTLE_MS = 10_000;
/** The count must hold this long to be taken as settled. */
const STEADY_MS = 500;

/**
 * The app's open descriptors once they are down to `target` (the baseline), or, without a
 * target, once the count has held still for STEADY_MS; after SETTLE_MS, whatever it is then.
 */
async function settledDescriptors(app: AppProcess, target?: number): Promise<number> {
  const deadline = Date.now() + SETTLE_MS;
  let last = await app.openDescriptors();
  let steadySince = Date.now();
  while (Date.now() < deadline) {
    if (target !== undefined && last <= target) break;
    if (target === undefined && Date.now() - steadySince >= STEADY_MS) break;
    await sleep(100);
    const now = await app.openDescriptors();
    if (now !== last) steadySince = Date.now();
    last = now;
  }
  return last;
}

/** Asked on a connection of its own that closes at once, after the descriptors were counted. */
function readAppErrors(app: AppProcess): Promise<Record<string, number>> {
  return new Promise((resolve, reject) => {
    const req = request({
      host: '127.0.0.1',
      port: app.httpPort,
      path: '/soak/app-errors',
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve(JSON.parse(text) as Record<string, number>));
    });
    req.end();
  });
}

/** Every expectation of the issue that the report breaks. */
export function judge(report: SoakReport): string[] {
  const problems: string[] = [];
  const failures = report.tally.failureCount + report.warmup.failureCount;
  if (failures > 0) {
    problems.push(
      `${failures} answers were wrong:`,
      ...report.warmup.failures,
      ...report.tally.failures,
    );
  }
  if (report.tally.requests === 0) problems.push('no request was made');
  const { baseline, after } = report.descriptors;
  // Fewer than before is no leak (a connection of the warm-up closed late); more is one.
  if (after > baseline) problems.push(`the app holds ${after} descriptors, ${baseline} before`);
  const { growth, limit } = report.rss;
  if (growth > limit) problems.push(`RSS grew by ${mib(growth)}, over the bound of ${mib(limit)}`);
  return problems;
}

export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
