import { gcBetween, readGcCounts, type GcCounts } from './gc.ts';
import { cpuSeconds } from './proc.ts';
import { runWrk, type WrkOptions } from './wrk.ts';

/**
 * Requests per second, decimal megabytes per second, MiB of memory, CPU µs per download, or KiB
 * of memory per idle connection.
 */
export type Metric = 'req/s' | 'MB/s' | 'MiB' | 'µs' | 'KiB';

/** One contender's result in one round of one scenario. */
export interface Sample {
  scenario: string;
  contender: string;
  round: number;
  metric: Metric;
  value: number;
  /** CPU seconds the measured server process used during the run. */
  serverCpuSeconds: number;
  /** Response bytes received (wrk: headers included). */
  bytes: number;
  requests?: number;
  errors?: number;
  /** wrk's CPU time over the run's wall time: 1.0 means one core kept busy. */
  generatorCpuShare?: number;
  latencyP50Ms?: number;
  latencyP99Ms?: number;
  /** Garbage collections in the measured Koa process during the run (not for nginx). */
  gc?: GcCounts;
  /** In a sweep, the value swept (rules, files, bytes, connections), for its chart. */
  level?: number;
}

/** Something wrk can load: a URL to request and the process whose CPU is counted. */
export interface Target {
  contender: string;
  url: string;
  pid: number;
  /** The measured process's base URL when it is a Koa contender, which counts its collections. */
  gcUrl?: string;
  /** In a sweep, the value swept. */
  level?: number;
}

/**
 * Runs wrk against each target, `rounds` times, rotating the order every round so that no
 * contender always runs first (page cache, CPU frequency and neighbours drift over a run).
 */
export async function interleaved(
  scenario: string,
  targets: readonly Target[],
  wrk: WrkOptions,
  metric: 'req/s' | 'MB/s',
  rounds: number,
  log: (line: string) => void,
): Promise<Sample[]> {
  const samples: Sample[] = [];
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < targets.length; i++) {
      const target = targets[(i + round) % targets.length]!;
      samples.push(await measureWrk(scenario, target, wrk, metric, round, log));
    }
  }
  return samples;
}

/** One wrk run against one target: its rate, and what the server spent on it. */
export async function measureWrk(
  scenario: string,
  target: Target,
  wrk: WrkOptions,
  metric: 'req/s' | 'MB/s',
  round: number,
  log: (line: string) => void,
): Promise<Sample> {
  const gcBefore = target.gcUrl === undefined ? undefined : await readGcCounts(target.gcUrl);
  const cpuBefore = cpuSeconds(target.pid);
  const result = await runWrk(target.url, wrk);
  const serverCpuSeconds = cpuSeconds(target.pid) - cpuBefore;
  const gc = gcBefore && gcBetween(gcBefore, await readGcCounts(target.gcUrl!));
  const value =
    metric === 'req/s' ? result.requests / result.seconds : result.bytes / result.seconds / 1e6;
  const errors = result.errors ? `  ${result.errors} ERRORS` : '';
  const collections = gc ? `, ${gc.major} major GCs` : '';
  log(
    `  ${scenario} · ${target.contender} · round ${round + 1}: ${format(value, metric)}${collections}${errors}`,
  );
  return {
    scenario,
    contender: target.contender,
    round,
    metric,
    value,
    serverCpuSeconds,
    bytes: result.bytes,
    requests: result.requests,
    errors: result.errors,
    generatorCpuShare: result.generatorCpuSeconds / result.seconds,
    latencyP50Ms: result.latencyP50Ms,
    latencyP99Ms: result.latencyP99Ms,
    gc,
    level: target.level,
  };
}

export function format(value: number, metric: Metric): string {
  if (metric === 'req/s') return `${Math.round(value).toLocaleString('en-US')} req/s`;
  if (metric === 'MB/s') return `${(value / 1000).toFixed(2)} GB/s`;
  if (metric === 'µs') return `${value.toFixed(1)} µs`;
  if (metric === 'KiB') return `${value.toFixed(1)} KiB`;
  return `${value.toFixed(1)} MiB`;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

/**
 * How far apart the rounds are: the largest |value − median| over the median. A lead is only
 * worth its name if it is larger than this.
 */
export function spread(values: readonly number[]): number {
  const middle = median(values);
  if (middle === 0) return 0;
  return Math.max(...values.map((v) => Math.abs(v - middle))) / middle;
}

/** One row of the results table: a contender's median in a scenario, and its ratio. */
export interface Row {
  scenario: string;
  contender: string;
  metric: Metric;
  median: number;
  /** The median over the scenario's first contender's (koa-downloadview, or nginx in s4). */
  ratio: number;
  /** The largest distance of a round from the median, as a fraction of the median. */
  spread: number;
  /** Median server CPU seconds per GiB sent (wrk scenarios). */
  serverCpuPerGiB?: number;
  /** Median share of a core wrk used. */
  generatorCpuShare?: number;
  /** Median full (mark-compact) collections per round in the Koa process (wrk scenarios). */
  majorGcs?: number;
  errors: number;
}
