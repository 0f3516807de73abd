/**
 * `npm run bench`: koa-downloadview against its peers and against nginx, scenario by scenario,
 * the contenders interleaved within one run. `npm run bench -- --quick` is the smoke version CI
 * runs (small files, one short round): it proves the benchmark works and asserts nothing.
 *
 * Options: --quick, --rounds N, --seconds S, --slow-seconds S (scenario 5),
 * --only s1,s2,…,js,events,rules,files,sizes,connections,chunk, --out DIR.
 *
 * The sweeps vary one dimension and show the cost staying flat as it grows: rules (offload
 * rules), files (distinct names), sizes (a tail range of files up to 64 GiB) and connections
 * (64 to 10,000 keep-alive connections, idle and active).
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs, promisify } from 'node:util';
import { startS3Server } from '../support/s3-server.ts';
import { checkRange } from './lib/byte-check.ts';
import { ensureFdLimit } from './lib/fd-limit.ts';
import { collectGarbage } from './lib/gc.ts';
import { FOUR_GiB, prepareFixtures, type Fixtures } from './lib/fixtures.ts';
import { openIdleConnections } from './lib/idle-connections.ts';
import { format, interleaved, measureWrk, type Sample, type Target } from './lib/measure.ts';
import { startKoa, startNginx, type BenchServer } from './lib/processes.ts';
import { SWEEP_SCENARIOS } from './lib/sweeps.ts';
import { cpuSeconds, rssBytes, sampleRss } from './lib/proc.ts';
import {
  EVENT_CONTENDERS,
  FILE_CONTENDERS,
  fileCount,
  JS_CONTENDERS,
  RULE_CONTENDERS,
  ruleCount,
} from './lib/in-process-contenders.ts';
import { slowClients } from './lib/slow-clients.ts';
import { describeMachine, writeReport, type RunOptions } from './lib/report.ts';
import { runWrk } from './lib/wrk.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    only: { type: 'string' },
    out: { type: 'string' },
    'slow-seconds': { type: 'string' },
  },
});

const quick = args.quick ?? false;
const options: RunOptions = {
  quick,
  rounds: Number(args.rounds ?? (quick ? 1 : 3)),
  seconds: Number(args.seconds ?? (quick ? 1 : 5)),
  slowClientSeconds: Number(args['slow-seconds'] ?? (quick ? 2 : 20)),
};
const only = new Set(
  (args.only ?? 's1,s2,s3,s4,js,events,rules,files,sizes,connections,s5,s6').split(','),
);
const log = (line: string) => console.log(line);
const execFileAsync = promisify(execFile);
const MiB = 1024 * 1024;
/** The levels of the connections sweep. */
const CONNECTION_LEVELS = [64, 1000, 10_000];
/** Time for the server to finish with what it was just asked, before its RSS is read. */
const SETTLE_MS = 1000;

const fixtures = await prepareFixtures(quick);
log(`files in ${fixtures.dir}; ${options.rounds} round(s) of ${options.seconds} s per contender`);
const samples: Sample[] = [];
const cleanup: BenchServer[] = [];

try {
  if (only.has('s1') || only.has('s2') || only.has('s3') || only.has('s4')) {
    samples.push(...(await fileScenarios(fixtures)));
  }
  if (only.has('js')) samples.push(...(await inProcessScenario('js per download', JS_CONTENDERS)));
  if (only.has('events')) {
    samples.push(...(await inProcessScenario('events per download', EVENT_CONTENDERS)));
  }
  if (only.has('rules')) {
    samples.push(...(await inProcessScenario(SWEEP_SCENARIOS.rules, RULE_CONTENDERS, ruleCount)));
  }
  if (only.has('files')) {
    samples.push(...(await inProcessScenario(SWEEP_SCENARIOS.files, FILE_CONTENDERS, fileCount)));
  }
  if (only.has('sizes')) samples.push(...(await sizesSweep(fixtures)));
  if (only.has('connections')) samples.push(...(await connectionsSweep(fixtures)));
  if (only.has('s5')) samples.push(...(await slowClientScenario(fixtures)));
  if (only.has('s6')) samples.push(...(await s3Scenario(fixtures)));
  if (only.has('chunk')) samples.push(...(await chunkSizeScenario(fixtures)));
} finally {
  await Promise.all(cleanup.map((server) => server.stop()));
}

// A quick run writes its files beside its fixtures, so CI checks the writing too without
// replacing the committed figures.
const outDir =
  args.out ?? (quick ? join(fixtures.dir, 'results') : join(import.meta.dirname, 'results'));
await writeReport(samples, { ...options, machine: await describeMachine() }, outDir, log);

/** wrk against each target, interleaved over the rounds, after a discarded warm-up. */
async function compare(
  scenario: string,
  targets: Target[],
  connections: number,
  metric: 'req/s' | 'MB/s',
  headers?: Record<string, string>,
): Promise<Sample[]> {
  log(scenario);
  if (!quick) {
    // Warm-up, discarded: JIT, page cache, connection pools.
    for (const t of targets) await runWrk(t.url, { connections, seconds: 1, headers });
  }
  return interleaved(
    scenario,
    targets,
    { connections, seconds: options.seconds, headers },
    metric,
    options.rounds,
    log,
  );
}

/** A Koa contender serving one file, measured in its own process. */
function koaTarget(contender: string, server: BenchServer, name: string): Target {
  return { contender, url: `${server.url}/files/${name}`, pid: server.pid, gcUrl: server.gcUrl };
}

async function started(server: Promise<BenchServer>): Promise<BenchServer> {
  const running = await server;
  cleanup.push(running);
  return running;
}

/** Scenarios 1–4: the same files, from Koa contenders and nginx started once for all four. */
async function fileScenarios(files: Fixtures): Promise<Sample[]> {
  const dir = files.dir;
  const [ours, koaSend, fastifySend, offloading, minimal] = await Promise.all(
    (
      [
        'koa-downloadview',
        'koa-send',
        '@fastify/send',
        'koa-downloadview+nginx',
        'minimal-x-accel',
      ] as const
    ).map((contender) => started(startKoa(contender, dir))),
  );
  // The small file from a Buffer: what Koa alone costs per request, s1's ceiling for any library.
  const ceiling = await started(startKoa('Koa from memory (ceiling)', dir, [files.small.name]));
  const nginx = await startNginx(dir, [offloading!, minimal!]);
  cleanup.push({ url: '', pid: 0, stop: nginx.stop });
  // `measured`: the process whose CPU and collections count (behind nginx, the Koa app's).
  const target = (
    contender: string,
    server: BenchServer,
    name: string,
    measured = server,
  ): Target => ({
    contender,
    url: `${server.url}/files/${name}`,
    pid: measured.pid,
    gcUrl: measured.gcUrl,
  });
  const peers = (name: string): Target[] => [
    target('koa-downloadview', ours!, name),
    target('koa-send', koaSend!, name),
    target('@fastify/send', fastifySend!, name),
    target('nginx direct', nginx.direct, name),
  ];
  const results: Sample[] = [];
  if (only.has('s1')) {
    const small = [
      ...peers(files.small.name),
      target('Koa from memory (ceiling)', ceiling, files.small.name),
    ];
    results.push(...(await compare('s1 small file', small, 64, 'req/s')));
  }
  if (only.has('s2')) {
    results.push(...(await compare('s2 large file', peers(files.large.name), 4, 'MB/s')));
  }
  if (only.has('s3')) {
    // koa-send ignores Range and would send the whole file: not a contender here.
    const tail = peers(files.huge.name).filter((t) => t.contender !== 'koa-send');
    results.push(...(await compare('s3 tail range', tail, 64, 'req/s', { Range: 'bytes=-1024' })));
  }
  if (only.has('s4')) {
    // The Koa process's CPU is what offload saves: counted for the Koa app, not for nginx.
    const offload = (name: string): Target[] => [
      target('nginx direct', nginx.direct, name),
      target('koa-downloadview + nginx X-Accel', nginx.proxies[0]!, name, offloading),
      target('minimal X-Accel handler + nginx', nginx.proxies[1]!, name, minimal),
      target('koa-downloadview streaming', ours!, name),
    ];
    results.push(...(await compare('s4 offload small', offload(files.small.name), 64, 'req/s')));
    results.push(...(await compare('s4 offload large', offload(files.large.name), 4, 'MB/s')));
  }
  return results;
}

/**
 * Scenarios measured in-process (bench/servers/in-process.ts), each contender in a fresh
 * process: no network, disk or thread pool, so little noise. "js": the library's own JavaScript
 * per download, against a bare Koa handler sending the same bytes with the same headers.
 * "events": what download events and OpenTelemetry cost, from an app without the API to one
 * with an SDK recording spans and metrics. In the sweeps (rules, files), `level` gives the
 * value each contender stands for.
 */
async function inProcessScenario<Contender extends string>(
  scenario: string,
  contenders: readonly Contender[],
  level?: (contender: Contender) => number,
): Promise<Sample[]> {
  log(scenario);
  const script = join(import.meta.dirname, 'servers', 'in-process.ts');
  const downloads = quick ? 2000 : 100_000;
  const results: Sample[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < contenders.length; i++) {
      const contender = contenders[(i + round) % contenders.length]!;
      const { stdout } = await execFileAsync(
        process.execPath,
        ['--import', 'tsx', script, contender, String(downloads)],
        { env: { ...process.env, NODE_ENV: 'production' } },
      );
      const { cpuMicroseconds, rssGrowthMiB } = JSON.parse(stdout) as {
        cpuMicroseconds: number;
        rssGrowthMiB: number;
      };
      results.push({
        scenario,
        contender,
        round,
        metric: 'µs',
        value: cpuMicroseconds,
        serverCpuSeconds: (cpuMicroseconds * downloads) / 1e6,
        bytes: 0,
        level: level?.(contender),
      });
      const rss = `RSS ${rssGrowthMiB >= 0 ? '+' : ''}${rssGrowthMiB.toFixed(1)} MiB`;
      log(
        `  ${scenario} · ${contender} · round ${round + 1}: ${format(cpuMicroseconds, 'µs')}, ${rss}`,
      );
    }
  }
  return results;
}

/**
 * Sweep "sizes": the last KiB of a 1 KiB, a 1 GiB and a 64 GiB (sparse) file, from one
 * koa-downloadview process. A range answer reads the same bytes whatever the file's size, so
 * its cost must stay flat. The answers are checked byte for byte against the files first,
 * across the 4 GiB boundary too: a rate of wrong bytes would not count.
 */
async function sizesSweep(files: Fixtures): Promise<Sample[]> {
  const server = await started(startKoa('koa-downloadview', files.dir));
  const sized = [files.small, files.huge, files.sparse];
  const url = (name: string) => `${server.url}/files/${name}`;
  const path = (name: string) => join(files.dir, name);
  for (const file of sized) await checkRange(url(file.name), path(file.name), { suffix: 1024 });
  const across = { start: FOUR_GiB - 1024, end: FOUR_GiB + 1023 };
  await checkRange(url(files.sparse.name), path(files.sparse.name), across);
  const targets = sized.map((file) => ({
    ...koaTarget(`size: ${sizeLabel(file.size)}`, server, file.name),
    level: file.size,
  }));
  return compare(SWEEP_SCENARIOS.sizes, targets, 64, 'req/s', { Range: 'bytes=-1024' });
}

function sizeLabel(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let unit = 0;
  while (bytes >= 1024 && bytes % 1024 === 0 && unit < units.length - 1) {
    bytes /= 1024;
    unit++;
  }
  return `${bytes} ${units[unit]}`;
}

/**
 * Sweep "connections": koa-downloadview serving the 1 KiB file to 64, 1,000 and 10,000
 * keep-alive connections. Idle: the server's RSS per connection that got one answer and waits,
 * which is what a server pays for clients that are slow between requests. Active: wrk's rate
 * over that many connections. A fresh process per level and round, so that neither the memory
 * nor the heap of another level carries over.
 */
async function connectionsSweep(files: Fixtures): Promise<Sample[]> {
  log('connections');
  // This process, the server and wrk each hold one descriptor per connection, and some more.
  ensureFdLimit(Math.max(...CONNECTION_LEVELS) + 1024);
  const results: Sample[] = [];
  for (let round = 0; round < options.rounds; round++) {
    for (let i = 0; i < CONNECTION_LEVELS.length; i++) {
      const count = CONNECTION_LEVELS[(i + round) % CONNECTION_LEVELS.length]!;
      const server = await startKoa('koa-downloadview', files.dir, [], {
        NODE_OPTIONS: `${process.env['NODE_OPTIONS'] ?? ''} --expose-gc`,
      });
      try {
        const target: Target = {
          ...koaTarget(`connections: ${count.toLocaleString('en-US')}`, server, files.small.name),
          level: count,
        };
        results.push(await idleConnectionsSample(target, count, round));
        const wrk = { connections: count, seconds: options.seconds };
        const active = SWEEP_SCENARIOS.activeConnections;
        results.push(await measureWrk(active, target, wrk, 'req/s', round, log));
      } finally {
        await server.stop();
      }
    }
  }
  return results;
}

/** The server's RSS growth per idle keep-alive connection, in KiB. */
async function idleConnectionsSample(
  target: Target,
  count: number,
  round: number,
): Promise<Sample> {
  // Idle means warmed up, in quick runs too: without a second of requests first, the young
  // generation growing to its working size would be counted as the connections' memory.
  await runWrk(target.url, { connections: 64, seconds: 1 });
  const before = await settledRss(target);
  const cpuBefore = cpuSeconds(target.pid);
  const idle = await openIdleConnections(target.url, count);
  try {
    const after = await settledRss(target);
    const open = idle.open();
    if (open < count) {
      throw new Error(`the server closed ${count - open} of ${count} idle connections`);
    }
    const sample: Sample = {
      scenario: SWEEP_SCENARIOS.idleConnections,
      contender: target.contender,
      round,
      metric: 'KiB',
      value: (after - before) / count / 1024,
      serverCpuSeconds: cpuSeconds(target.pid) - cpuBefore,
      bytes: 0,
      level: count,
    };
    log(
      `  ${SWEEP_SCENARIOS.idleConnections} · ${target.contender} · round ${round + 1}: ${format(sample.value, 'KiB')} each,` +
        ` RSS ${(before / MiB).toFixed(0)} → ${(after / MiB).toFixed(0)} MiB`,
    );
    return sample;
  } finally {
    idle.close();
  }
}

/**
 * A Koa contender's RSS once it has nothing left to do and has collected its garbage: what it
 * holds, not the requests it has answered (without the collection, where the collector happened
 * to stand moved a reading by several MiB).
 */
async function settledRss(target: Target): Promise<number> {
  await sleep(SETTLE_MS);
  await collectGarbage(target.gcUrl!);
  await sleep(100);
  return rssBytes(target.pid);
}

/** Scenario 5: the Koa process's RSS while slow clients download a large file. */
async function slowClientScenario(files: Fixtures): Promise<Sample[]> {
  log('s5 slow clients');
  const clients = 64;
  const bytesPerSecond = MiB;
  const results: Sample[] = [];
  // The peak depends on when the garbage collector runs, so one run proves little: rounds, the
  // contenders interleaved, and the median, as for throughput.
  const contenders = ['koa-downloadview', 'koa-send', '@fastify/send'] as const;
  const runs = Array.from({ length: options.rounds }, (_, round) =>
    contenders.map((contender) => ({ round, contender })),
  ).flat();
  for (const { round, contender } of runs) {
    const server = await startKoa(contender, files.dir);
    try {
      // Idle means warmed up: one request through the whole path first.
      await fetch(`${server.url}/files/${files.small.name}`).then((res) => res.arrayBuffer());
      const idle = rssBytes(server.pid);
      const cpuBefore = cpuSeconds(server.pid);
      const sampler = sampleRss(server.pid);
      const received = await slowClients(`${server.url}/files/${files.huge.name}`, {
        clients,
        bytesPerSecond,
        seconds: options.slowClientSeconds,
      });
      const peak = sampler.stop();
      const value = (peak - idle) / MiB;
      results.push({
        scenario: 's5 slow clients',
        contender,
        round,
        metric: 'MiB',
        value,
        serverCpuSeconds: cpuSeconds(server.pid) - cpuBefore,
        bytes: received,
      });
      log(
        `  s5 · ${contender} · round ${round + 1}: RSS +${value.toFixed(1)} MiB over idle ${(idle / MiB).toFixed(0)} MiB,` +
          ` ${(received / MiB).toFixed(0)} MiB sent to ${clients} clients`,
      );
    } finally {
      await server.stop();
    }
  }
  return results;
}

/** Scenario 6: S3Storage's overhead over piping the SDK's GetObject body, on s3rver. */
async function s3Scenario(files: Fixtures): Promise<Sample[]> {
  log('s6 S3');
  const s3 = await startS3Server('bench');
  try {
    const client = s3.client();
    for (const file of [files.small, files.large]) {
      const body = await readFile(join(files.dir, file.name));
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: file.name, Body: body }));
    }
    client.destroy();
    const args = [s3.endpoint, s3.bucket];
    const ours = await started(startKoa('koa-downloadview s3', files.dir, args));
    const raw = await started(startKoa('raw GetObject pipe', files.dir, args));
    const targets = (name: string): Target[] => [
      koaTarget('koa-downloadview S3Storage', ours, name),
      koaTarget('raw GetObject pipe', raw, name),
    ];
    const run = (scenario: string, name: string, connections: number, metric: 'req/s' | 'MB/s') =>
      interleaved(
        scenario,
        targets(name),
        { connections, seconds: options.seconds },
        metric,
        options.rounds,
        log,
      );
    return [
      ...(await run('s6 S3 small object', files.small.name, 16, 'req/s')),
      ...(await run('s6 S3 large object', files.large.name, 4, 'MB/s')),
    ];
  } finally {
    await s3.stop();
  }
}

/**
 * The filesystem read chunk size, measured: the large file through koa-downloadview with each
 * candidate size (`--only chunk`). FILESYSTEM_READ_CHUNK_SIZE is set from this.
 */
async function chunkSizeScenario(files: Fixtures): Promise<Sample[]> {
  log('chunk size');
  const targets: Target[] = [];
  for (const kib of [16, 64, 256, 1024]) {
    const server = await started(
      startKoa('koa-downloadview', files.dir, [], { BENCH_READ_CHUNK_SIZE: String(kib * 1024) }),
    );
    targets.push(koaTarget(`${kib} KiB chunks`, server, files.large.name));
  }
  return interleaved(
    'chunk size (large file)',
    targets,
    { connections: 4, seconds: options.seconds },
    'MB/s',
    options.rounds,
    log,
  );
}
