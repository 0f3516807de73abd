/**
 * What download events cost per download, measured in one process: a Koa server and a
 * keep-alive client on loopback, the CPU time of the whole process (server and client) per
 * download, for each configuration in turn, several rounds, the median kept.
 *
 *   npx tsc -p tsconfig.build.json --outDir .tmp/events-bench
 *   npx tsx test/events/measure-overhead.ts [downloads per round] [rounds]
 *
 * The library is measured as compiled by tsc, as users run it: through tsx, each closure the
 * library creates per download would also pay for the `__name` helper tsx adds to keep names.
 *
 * Not part of the test suite (it takes a while and its figures depend on the machine); its
 * figures are quoted in docs/events.md.
 */
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { Agent, request } from 'node:http';
import { pathToFileURL } from 'node:url';
import type * as Library from '../../src/index.ts';
import type { DownloadViewOptions } from '../../src/index.ts';
import type * as Memory from '../../storages/memory.ts';
import { serve } from '../support/koa.ts';

const BUILD = pathToFileURL(`${process.env.EVENTS_BENCH_BUILD ?? '.tmp/events-bench'}/`);
const { downloadview, StorageFile } = (await import(
  new URL('src/index.js', BUILD).href
)) as typeof Library;
const { MemoryStorage } = (await import(
  new URL('storages/memory.js', BUILD).href
)) as typeof Memory;

const PER_ROUND = Number(process.argv[2] ?? 2000);
const ROUNDS = Number(process.argv[3] ?? 7);

const storage = new MemoryStorage({
  files: { 'small.bin': Buffer.alloc(1024, 1), 'large.bin': Buffer.alloc(1024 * 1024, 2) },
});

interface Setup {
  label: string;
  options: DownloadViewOptions;
  sdk?: boolean;
}

const SETUPS: Setup[] = [
  { label: 'events off (telemetry: false, no hook)', options: { telemetry: false } },
  { label: 'default: API installed, no SDK, no hook', options: {} },
  {
    label: 'onDownload hook (empty), telemetry: false',
    options: { onDownload: () => undefined, telemetry: false },
  },
  { label: 'SDK registered (spans recorded, not exported)', options: {}, sdk: true },
];

const agent = new Agent({ keepAlive: true, maxSockets: 1 });

function get(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent }, (res) => {
      res.on('data', () => undefined);
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end();
  });
}

/** CPU microseconds per download of `file` under `setup`. */
async function round(setup: Setup, file: string): Promise<number> {
  if (setup.sdk) trace.setGlobalTracerProvider(new BasicTracerProvider());
  const server = await serve(downloadview(setup.options), (ctx) => {
    ctx.body = new StorageFile(storage, file);
  });
  try {
    for (let i = 0; i < 50; i++) await get(`${server.url}/`); // warm-up
    const before = process.cpuUsage();
    for (let i = 0; i < PER_ROUND; i++) await get(`${server.url}/`);
    const used = process.cpuUsage(before);
    return (used.user + used.system) / PER_ROUND;
  } finally {
    await server.close();
    agent.destroy();
    if (setup.sdk) trace.disable();
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

for (const file of (process.env.FILES ?? 'small.bin,large.bin').split(',')) {
  const samples = new Map<string, number[]>(SETUPS.map((s) => [s.label, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const setup of SETUPS) samples.get(setup.label)?.push(await round(setup, file));
  }
  const base = median(samples.get(SETUPS[0]!.label)!);
  console.log(`\n${file}: CPU µs per download (median of ${ROUNDS} rounds of ${PER_ROUND})`);
  for (const setup of SETUPS) {
    const value = median(samples.get(setup.label)!);
    const delta = value - base;
    console.log(
      `  ${setup.label.padEnd(48)} ${value.toFixed(1).padStart(7)}  (${delta >= 0 ? '+' : ''}${delta.toFixed(1)})`,
    );
  }
}
