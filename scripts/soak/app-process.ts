import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { rssBytes } from '../../bench/lib/proc.ts';
import type { SelfSigned } from './certificate.ts';

const APP = fileURLToPath(new URL('./app.ts', import.meta.url));
const START_TIMEOUT_MS = 20_000;

/** The app under soak, in its own process, and the readings the soak takes of it. */
export interface AppProcess {
  pid: number;
  /** Cleartext HTTP/1.1 port: nginx's upstream, and direct HTTP/1.1 clients. */
  httpPort: number;
  /** TLS port: HTTP/2, and HTTP/1.1 for clients that offer no ALPN. */
  httpsPort: number;
  rssBytes(): number;
  openDescriptors(): Promise<number>;
  stop(): Promise<void>;
}

/** Starts scripts/soak/app.ts under Node (not the tsx CLI, so the PID is the app's own). */
export async function startApp(filesDir: string, certificate: SelfSigned): Promise<AppProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', APP, filesDir, certificate.certFile, certificate.keyFile],
    // Empty, not absent: Node would hand its own NODE_V8_COVERAGE (c8) on to the child, whose
    // coverage data would then be written, and kept in memory, for the whole soak.
    { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, NODE_V8_COVERAGE: '' } },
  );
  try {
    const ports = await readPorts(child);
    const pid = child.pid ?? 0;
    return {
      pid,
      httpPort: ports.http,
      httpsPort: ports.https,
      rssBytes: () => rssBytes(pid),
      openDescriptors: async () => (await readdir(`/proc/${pid}/fd`)).length,
      stop: () => stop(child),
    };
  } catch (error) {
    await stop(child);
    throw error;
  }
}

function readPorts(child: ChildProcess): Promise<{ http: number; https: number }> {
  const { stdout } = child;
  if (!stdout) throw new Error('the soak app has no stdout');
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error('the soak app did not start')),
      START_TIMEOUT_MS,
    );
    createInterface({ input: stdout }).on('line', (line) => {
      const match = /^listening (\{.*\})$/.exec(line);
      if (!match?.[1]) return;
      clearTimeout(timer);
      resolve(JSON.parse(match[1]) as { http: number; https: number });
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the soak app exited with ${code ?? signal}`));
    });
  });
}

/** SIGTERM by the child's own PID, then SIGKILL if it lingers. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}
