import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** A demo started as `npm run demo` or `npm run demo:nginx` start it, with its output kept. */
export interface DemoProcess {
  url: string;
  /** Every line the demo printed so far (its access log is one line per download). */
  lines(): string[];
  /** The nginx access log, under demo:nginx. */
  accessLog: string | undefined;
  stop(): Promise<void>;
}

/**
 * Runs `node --import tsx <script>` (what the npm scripts run) on free ports and waits for the
 * line that names its URL.
 *
 * @example
 * const demo = await startDemoProcess('demo/server.ts');
 */
export async function startDemoProcess(
  script: string,
  env: Record<string, string> = {},
): Promise<DemoProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    env: { ...process.env, PORT: '0', NODE_V8_COVERAGE: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output: string[] = [];
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => {
    const parts = (partial + text).split('\n');
    partial = parts.pop()!;
    output.push(...parts);
  });
  child.stderr!.setEncoding('utf8').on('data', (text: string) => process.stderr.write(text));
  const url = await waitForUrl(child, output);
  const accessLog = output.map((l) => /access log.*: (\/\S+)/.exec(l)?.[1]).find(Boolean);
  return { url, lines: () => output, accessLog, stop: () => stopChild(child) };
}

async function waitForUrl(child: ChildProcess, output: string[]): Promise<string> {
  for (let i = 0; i < 300; i++) {
    const found = output.map((l) => /listening on (http:\/\/\S+)/.exec(l)?.[1]).find(Boolean);
    if (found) return found;
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stopChild(child);
  throw new Error(`the demo did not start:\n${output.join('\n')}`);
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}
