import { spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { format, median, spread, type Row, type Sample } from './measure.ts';
import { renderChart } from './chart.ts';
import { renderSweepChart } from './sweep-chart.ts';
import { SWEEPS } from './sweeps.ts';

export type { Row } from './measure.ts';

export interface RunOptions {
  quick: boolean;
  rounds: number;
  seconds: number;
  slowClientSeconds: number;
}

export interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  kernel: string;
  node: string;
  nginx: string;
  wrk: string;
}

/** A target from the issue, judged from this run's figures. */
export interface TargetResult {
  scenario: string;
  target: string;
  measured: string;
  met: boolean;
}

export async function describeMachine(): Promise<Machine> {
  // nginx and wrk print their versions on stderr, and wrk exits 1 for -v.
  const version = (command: string, args: string[]) => {
    const { stdout, stderr } = spawnSync(command, args, { encoding: 'utf8' });
    return `${stdout ?? ''}${stderr ?? ''}`.trim().split('\n')[0] || 'unknown';
  };
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    kernel: release(),
    node: process.version,
    nginx: version('nginx', ['-v']),
    wrk: version('wrk', ['-v']),
  };
}

export function summarise(samples: readonly Sample[]): Row[] {
  const rows: Row[] = [];
  const scenarios = [...new Set(samples.map((s) => s.scenario))];
  for (const scenario of scenarios) {
    const inScenario = samples.filter((s) => s.scenario === scenario);
    const contenders = [...new Set(inScenario.map((s) => s.contender))];
    let reference: number | undefined;
    for (const contender of contenders) {
      const own = inScenario.filter((s) => s.contender === contender);
      const values = own.map((s) => s.value);
      const value = median(values);
      reference ??= value;
      const gib = own.map((s) => s.bytes / 2 ** 30);
      rows.push({
        scenario,
        contender,
        metric: own[0]!.metric,
        median: value,
        ratio: value / reference,
        spread: spread(values),
        serverCpuPerGiB:
          own[0]!.requests === undefined
            ? undefined
            : median(own.map((s, i) => s.serverCpuSeconds / gib[i]!)),
        generatorCpuShare:
          own[0]!.generatorCpuShare === undefined
            ? undefined
            : median(own.map((s) => s.generatorCpuShare!)),
        majorGcs: own[0]!.gc === undefined ? undefined : median(own.map((s) => s.gc!.major)),
        errors: own.reduce((sum, s) => sum + (s.errors ?? 0), 0),
      });
    }
  }
  return rows;
}

/** The targets, each judged from the medians (and spreads) of this run. */
export function judgeTargets(rows: readonly Row[]): TargetResult[] {
  const row = (scenario: string, contender: string) =>
    rows.find((r) => r.scenario === scenario && r.contender === contender);
  const get = (scenario: string, contender: string) => row(scenario, contender)?.median;
  const results: TargetResult[] = [];
  /** Judges a / b against a bound: a floor for rates, a ceiling for costs. */
  const ratio = (
    scenario: string,
    target: string,
    a: [string, string],
    b: [string, string],
    bound: { min: number } | { max: number },
  ) => {
    const x = get(...a);
    const y = get(...b);
    if (x === undefined || y === undefined) return;
    results.push({
      scenario,
      target,
      measured: `${(x / y).toFixed(2)}×`,
      met: 'min' in bound ? x / y >= bound.min : x / y <= bound.max,
    });
  };
  const ours = 'koa-downloadview';

  const s1 = 's1 small file';
  ratio(s1, '≥ 1.5× @fastify/send', [s1, ours], [s1, '@fastify/send'], { min: 1.5 });
  ratio(s1, '≥ 2.5× koa-send', [s1, ours], [s1, 'koa-send'], { min: 2.5 });
  const ceiling = 'Koa from memory (ceiling)';
  ratio(s1, `≥ 0.6× ${ceiling}`, [s1, ours], [s1, ceiling], { min: 0.6 });

  const s2 = 's2 large file';
  ratio(s2, '≥ 0.8× nginx direct', [s2, ours], [s2, 'nginx direct'], { min: 0.8 });
  const streamed = row(s2, ours);
  if (streamed) {
    results.push({
      scenario: s2,
      target: 'spread between rounds within ±15%',
      measured: `±${(streamed.spread * 100).toFixed(1)}%`,
      met: streamed.spread <= 0.15,
    });
  }

  // Per-request cost is the inverse of req/s: tail cost / small cost = small rps / tail rps.
  const s3 = 's3 tail range';
  ratio(s3, "per-request cost ≤ 1.1× s1's", [s1, ours], [s3, ours], { max: 1.1 });

  const smallOffload = 's4 offload small';
  const large = 's4 offload large';
  const offloaded = 'koa-downloadview + nginx X-Accel';
  ratio(
    smallOffload,
    '≥ 0.95× minimal X-Accel handler (1 KiB)',
    [smallOffload, offloaded],
    [smallOffload, 'minimal X-Accel handler + nginx'],
    { min: 0.95 },
  );
  ratio(large, '≥ 0.9× nginx direct (large)', [large, offloaded], [large, 'nginx direct'], {
    min: 0.9,
  });
  const cpuOffloaded = row(large, offloaded)?.serverCpuPerGiB;
  const cpuStreaming = row(large, 'koa-downloadview streaming')?.serverCpuPerGiB;
  if (cpuOffloaded !== undefined && cpuStreaming !== undefined) {
    results.push({
      scenario: large,
      target: 'Koa CPU per GiB offloaded ≤ 5% of streaming',
      measured: `${((cpuOffloaded / cpuStreaming) * 100).toFixed(2)}%`,
      met: cpuOffloaded / cpuStreaming <= 0.05,
    });
  }

  // µs per download: lower is better, so the bound is a ceiling.
  const js = 'js per download';
  ratio(js, '≤ 1.3× bare Koa handler (µs)', [js, ours], [js, 'bare Koa handler'], { max: 1.3 });

  const rss = get('s5 slow clients', ours);
  if (rss !== undefined) {
    results.push({
      scenario: 's5 slow clients',
      target: 'RSS growth ≤ 32 MiB',
      measured: format(rss, 'MiB'),
      met: rss <= 32,
    });
  }

  for (const scenario of ['s6 S3 small object', 's6 S3 large object']) {
    ratio(
      scenario,
      '≥ 0.95× raw GetObject pipe',
      [scenario, 'koa-downloadview S3Storage'],
      [scenario, 'raw GetObject pipe'],
      { min: 0.95 },
    );
  }
  return results;
}

export function renderTable(rows: readonly Row[]): string {
  const header = [
    'scenario',
    'contender',
    'median',
    'ratio',
    'spread',
    'server CPU s/GiB',
    'wrk CPU',
    'major GCs/round',
  ];
  const lines = rows.map((r) => [
    r.scenario,
    r.contender,
    format(r.median, r.metric) + (r.errors ? ` (${r.errors} errors)` : ''),
    `${r.ratio.toFixed(2)}×`,
    `±${Math.round(r.spread * 100)}%`,
    r.serverCpuPerGiB === undefined ? '' : r.serverCpuPerGiB.toFixed(2),
    r.generatorCpuShare === undefined ? '' : `${Math.round(r.generatorCpuShare * 100)}%`,
    r.majorGcs === undefined ? '' : String(r.majorGcs),
  ]);
  return markdownTable(header, lines);
}

export function renderTargets(targets: readonly TargetResult[]): string {
  return markdownTable(
    ['scenario', 'target', 'measured', 'met'],
    targets.map((t) => [t.scenario, t.target, t.measured, t.met ? 'yes' : 'NO']),
  );
}

function markdownTable(header: string[], lines: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  const row = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [row(header), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n');
}

/**
 * Prints the tables and writes results.json and results.svg into `outDir`, and a
 * sweep-<name>.svg for each sweep that ran.
 */
export async function writeReport(
  samples: readonly Sample[],
  meta: RunOptions & { machine: Machine },
  outDir: string,
  log: (line: string) => void,
): Promise<void> {
  const rows = summarise(samples);
  const targets = judgeTargets(rows);
  log('');
  log(renderTable(rows));
  log('');
  log(renderTargets(targets));
  const errors = rows.reduce((sum, r) => sum + r.errors, 0);
  if (errors > 0) log(`\n${errors} failed requests: see the rows marked with errors.`);
  await mkdir(outDir, { recursive: true });
  const report = { date: new Date().toISOString(), ...meta, rows, targets, samples };
  await writeFile(join(outDir, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(outDir, 'results.svg'), renderChart(rows));
  const written = ['results.svg'];
  for (const sweep of SWEEPS) {
    const scenarios = new Set(sweep.plots.map((plot) => plot.scenario));
    const own = samples.filter((s) => scenarios.has(s.scenario) && s.level !== undefined);
    if (own.length === 0) continue;
    const file = `sweep-${sweep.name}.svg`;
    await writeFile(join(outDir, file), renderSweepChart(sweep, own));
    written.push(file);
  }
  log(`\nwrote ${join(outDir, 'results.json')} and ${written.join(', ')}`);
}
