import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { ticksToSeconds } from './proc.ts';

const REPORT_SCRIPT = fileURLToPath(new URL('../wrk-report.lua', import.meta.url));

/** What one wrk run measured. */
export interface WrkResult {
  requests: number;
  bytes: number;
  seconds: number;
  /** Connect, read, write, timeout and non-2xx/3xx answers, summed. */
  errors: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  /** CPU seconds wrk itself used: the load generator's cost. */
  generatorCpuSeconds: number;
}

export interface WrkOptions {
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}

/**
 * Runs wrk (C, one thread: it leaves the other core to the server) against one URL. wrk
 * rather than a Node generator because on two cores a Node client would be the bottleneck.
 */
export async function runWrk(url: string, options: WrkOptions): Promise<WrkResult> {
  const args = ['-t1', `-c${options.connections}`, `-d${options.seconds}s`, '--timeout', '30s'];
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    args.push('-H', `${name}: ${value}`);
  }
  args.push('-s', REPORT_SCRIPT, url);
  const { stdout } = await promisify(execFile)('wrk', args, { maxBuffer: 1 << 20 });
  const line = /^WRK_JSON (.*)$/m.exec(stdout)?.[1];
  if (!line) throw new Error(`wrk printed no report:\n${stdout}`);
  const raw = JSON.parse(line) as Record<string, number>;
  const n = (key: string) => raw[key] ?? 0;
  return {
    requests: n('requests'),
    bytes: n('bytes'),
    seconds: n('durationUs') / 1e6,
    errors:
      n('connectErrors') + n('readErrors') + n('writeErrors') + n('statusErrors') + n('timeouts'),
    latencyP50Ms: n('latencyP50Us') / 1000,
    latencyP99Ms: n('latencyP99Us') / 1000,
    generatorCpuSeconds: ticksToSeconds(n('cpuTicks')),
  };
}
