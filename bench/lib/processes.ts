import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../support/s3-server.ts';
import type { KoaContender } from '../servers/koa-app.ts';

/** A server process the benchmark started and measures. */
export interface BenchServer {
  /** Base URL without a trailing slash. */
  url: string;
  /** The process that does the work (nginx: its single worker), for CPU and RSS readings. */
  pid: number;
  /** A Koa contender's base URL, which answers its garbage collections (bench/lib/gc.ts). */
  gcUrl?: string;
  stop(): Promise<void>;
}

const KOA_APP = fileURLToPath(new URL('../servers/koa-app.ts', import.meta.url));

/**
 * Starts one Koa contender in its own Node process (no tsx CLI wrapper: the PID is Node's).
 * `extra`: what the contender needs besides the directory (koa-app.ts's usage).
 */
export async function startKoa(
  contender: KoaContender,
  filesDir: string,
  extra: string[] = [],
  env: Record<string, string> = {},
): Promise<BenchServer> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', KOA_APP, contender, filesDir, ...extra],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, NODE_ENV: 'production', ...env },
    },
  );
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    lines.on('line', (line) => {
      const match = /^listening (\d+)$/.exec(line);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => reject(new Error(`${contender} exited with ${code}`)));
  });
  const url = `http://127.0.0.1:${port}`;
  return { url, pid: child.pid!, gcUrl: url, stop: () => kill(child) };
}

/** The ports of the nginx the benchmark runs: serving the files itself, and in front of Koa. */
export interface BenchNginx {
  direct: BenchServer;
  /** nginx in front of each given Koa app, with the /protected/ location of docs/proxies/. */
  proxies: BenchServer[];
  stop(): Promise<void>;
}

/**
 * nginx with one worker (the same single core a Koa process gets), sendfile on as in any
 * production nginx, and no access log (Koa writes none either). The offload locations are the
 * ones docs/proxies/nginx.conf documents.
 */
export async function startNginx(filesDir: string, upstreams: BenchServer[]): Promise<BenchNginx> {
  const workDir = await mkdtemp(join(tmpdir(), 'kdv-bench-nginx-'));
  const directPort = await freePort();
  const proxyPorts = await Promise.all(upstreams.map(() => freePort()));
  const proxyServers = upstreams.map(
    (upstream, index) => `
    server {
      listen 127.0.0.1:${proxyPorts[index]};
      location / {
        proxy_pass ${upstream.url};
        proxy_set_header Host $host;
      }
      location /protected/ {
        internal;
        alias "${filesDir}/";
      }
    }`,
  );
  const config = `
    worker_processes 1;
    pid "${workDir}/nginx.pid";
    error_log "${workDir}/error.log";
    events { worker_connections 1024; }
    http {
      include /etc/nginx/mime.types;
      default_type application/octet-stream;
      access_log off;
      sendfile on;
      tcp_nopush on;
      client_body_temp_path "${workDir}/client_body";
      proxy_temp_path "${workDir}/proxy";
      fastcgi_temp_path "${workDir}/fastcgi";
      uwsgi_temp_path "${workDir}/uwsgi";
      scgi_temp_path "${workDir}/scgi";
      server {
        listen 127.0.0.1:${directPort};
        location /files/ { alias "${filesDir}/"; }
      }
      ${proxyServers.join('\n')}
    }`;
  const configFile = join(workDir, 'nginx.conf');
  await writeFile(configFile, config);
  const master = spawn(
    'nginx',
    ['-p', workDir, '-e', `${workDir}/error.log`, '-c', configFile, '-g', 'daemon off;'],
    { stdio: 'inherit' },
  );
  const worker = await nginxWorker(master, workDir);
  const server = (port: number): BenchServer => ({
    url: `http://127.0.0.1:${port}`,
    pid: worker,
    stop: async () => undefined,
  });
  return {
    direct: server(directPort),
    proxies: proxyPorts.map(server),
    stop: async () => {
      await kill(master);
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

/** The PID of the one worker of an nginx master, once it is up. */
async function nginxWorker(master: ChildProcess, workDir: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    if (master.exitCode !== null) throw new Error(`nginx exited; see ${workDir}/error.log`);
    const { stdout } = await run('pgrep', ['-P', String(master.pid)]);
    const pid = Number(stdout.trim().split('\n')[0]);
    if (pid > 0) return pid;
    await sleep(50);
  }
  throw new Error('nginx started no worker');
}

async function run(command: string, args: string[]): Promise<{ stdout: string }> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  await once(child, 'close');
  return { stdout };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  await exited;
}
