import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

/** The published configuration the demo's nginx is generated from. */
export const PUBLISHED_NGINX_CONF = fileURLToPath(
  new URL('../docs/proxies/nginx.conf', import.meta.url),
);

/** Where the configuration's placeholders point. */
export interface NginxPlaces {
  listenPort: number;
  upstreamPort: number;
  filesDir: string;
  workDir: string;
}

/**
 * What the demo adds to the published file, each after a line of it: an access log that shows
 * the offload header nginx obeyed, and that header on the answers of the internal locations,
 * so a person (or the browser test) can see that nginx, not Koa, sent the bytes.
 */
const DEMO_ADDITIONS: [anchor: RegExp, lines: string][] = [
  [
    /^ *access_log .*$/m,
    '  log_format demo \'$request_method $request_uri $status $body_bytes_sent range="$http_range" \'\n' +
      '                  \'accel="$upstream_http_x_accel_redirect" upstreams="$upstream_addr"\';\n' +
      '  access_log "{{WORK_DIR}}/demo-access.log" demo;',
  ],
  [
    /^ *location \/protected\/ \{$/m,
    '      add_header X-Demo-Offload $upstream_http_x_accel_redirect;',
  ],
  // Here the upstream variables are the remote server's: the app's header is known by its
  // location.
  [/^ *location \/remote\/ \{$/m, '      add_header X-Demo-Offload "/remote/ + X-Offload-Url";'],
];

/**
 * The demo's nginx configuration: docs/proxies/nginx.conf as published, its placeholders
 * filled and the demo's additions inserted. Throws when the published file no longer has a
 * line an addition follows, rather than running a configuration that differs from it.
 *
 * @example
 * const conf = renderNginxConfig(await readFile(PUBLISHED_NGINX_CONF, 'utf8'), places);
 */
export function renderNginxConfig(published: string, places: NginxPlaces): string {
  let conf = published;
  for (const [anchor, lines] of DEMO_ADDITIONS) {
    if (!anchor.test(conf)) throw new Error(`docs/proxies/nginx.conf has no line ${anchor}`);
    conf = conf.replace(anchor, (line) => `${line}\n${lines}`);
  }
  const values: Record<string, string> = {
    LISTEN_PORT: String(places.listenPort),
    UPSTREAM_PORT: String(places.upstreamPort),
    FILES_DIR: places.filesDir.replace(/\/+$/, ''),
    WORK_DIR: places.workDir,
  };
  return conf.replace(/\{\{(\w+)\}\}/g, (all, key: string) => {
    const value = values[key];
    if (value === undefined) throw new Error(`docs/proxies/nginx.conf: unknown placeholder ${all}`);
    return value;
  });
}

/** The nginx binary: `NGINX`, else `nginx` on PATH or in /usr/sbin; undefined when absent. */
export function findNginx(): string | undefined {
  for (const candidate of [process.env.NGINX, 'nginx', '/usr/sbin/nginx']) {
    if (!candidate) continue;
    if (!spawnSync(candidate, ['-v'], { stdio: 'ignore' }).error) return candidate;
  }
  return undefined;
}

/** A running nginx, started by the demo (never the system service). */
export interface RunningNginx {
  readonly pid: number;
  readonly accessLog: string;
  readonly exited: Promise<unknown>;
  stop(): Promise<void>;
}

/**
 * Starts nginx in the foreground with the demo's configuration, in a scratch directory, and
 * waits until it listens.
 *
 * @example
 * const nginx = await startNginx('nginx', { listenPort: 3000, upstreamPort, filesDir, workDir: '' });
 */
export async function startNginx(
  binary: string,
  places: Omit<NginxPlaces, 'workDir'>,
): Promise<RunningNginx> {
  const workDir = await mkdtemp(join(tmpdir(), 'kdv-demo-nginx-'));
  // Workers run as an unprivileged user when nginx starts as root: they write their temp
  // files under this directory.
  await chmod(workDir, 0o755);
  const filesDir = realpathSync(places.filesDir);
  const published = await readFile(PUBLISHED_NGINX_CONF, 'utf8');
  const conf = join(workDir, 'nginx.conf');
  await writeFile(conf, renderNginxConfig(published, { ...places, filesDir, workDir }));
  const args = ['-p', workDir, '-e', join(workDir, 'error.log'), '-c', conf, '-g', 'daemon off;'];
  // Its own process group: a Ctrl-C in the terminal reaches the demo, which stops nginx and
  // then removes its directory, instead of racing nginx's own shutdown.
  const child = spawn(binary, args, { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    await waitForPort(places.listenPort, exited);
  } catch (err) {
    const log = await readFile(join(workDir, 'error.log'), 'utf8').catch(() => '');
    await stop();
    throw new Error(`nginx did not start: ${String(err)}\n${log}`, { cause: err });
  }
  return { pid: child.pid ?? 0, accessLog: join(workDir, 'demo-access.log'), exited, stop };
}

async function waitForPort(port: number, exited: Promise<unknown>): Promise<void> {
  let gone = false;
  void exited.then(() => (gone = true));
  for (let i = 0; i < 100 && !gone; i++) {
    if (await canConnect(port)) return;
    await sleep(50);
  }
  throw new Error(gone ? 'it exited' : `nothing listens on port ${port}`);
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
