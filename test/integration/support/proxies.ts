import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, openSync, closeSync } from 'node:fs';
import { chmod, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { APP_SCHEME } from '../../support/transport.ts';

/** The reverse proxies the integration tests run for real. */
export type ProxyKind = 'nginx' | 'apache' | 'lighttpd' | 'caddy';

/** What `startProxy` needs: where the app listens and which directory holds the files. */
export interface ProxyOptions {
  /** Port of the app on 127.0.0.1; every request is forwarded there first. */
  upstreamPort: number;
  /** Absolute directory the offloaded files are served from (world-readable for nginx/Apache). */
  filesDir: string;
  /**
   * Edits the documented configuration before it is templated, to run a deliberately broken
   * variant of it (the doctor's tests). The edit must change the text: an edit that matches
   * nothing throws, so a test can never run the documented config believing it broken.
   */
  editConfig?: (template: string) => string;
  /**
   * How the proxy reaches the app: `https` (HTTP/1.1 over TLS, or HTTP/2 where the proxy
   * offers it, to an app on node:http2 with `allowHTTP1`) renders the documented config with
   * only its upstream lines changed, see `TLS_UPSTREAM`. Defaults to the scheme of `serve()`'s
   * apps under the transport being tested (`https` with TRANSPORT=h2, else `http`).
   */
  upstreamScheme?: 'http' | 'https';
}

/** A running proxy, started by `startProxy`. */
export interface RunningProxy {
  kind: ProxyKind;
  port: number;
  /** `http://127.0.0.1:<port>` without a trailing slash. */
  url: string;
  /** Kills the server by its PID, waits for the exit, then removes its work dir. */
  stop(): Promise<void>;
  /** Every log file of the server (its stdout/stderr, error and access logs). */
  logs(): Promise<string>;
}

/** The templates under docs/proxies/, so the documented configs are the tested ones. */
const TEMPLATES_DIR = fileURLToPath(new URL('../../../docs/proxies/', import.meta.url));

interface ServerSpec {
  binary: string;
  /** The file under docs/proxies/ the config is rendered from. */
  template: string;
  /** Foreground command line, so the child's PID is the server's own. */
  args: (config: string, workDir: string) => string[];
}
const SERVERS: Record<ProxyKind, ServerSpec> = {
  nginx: {
    binary: 'nginx',
    template: 'nginx.conf',
    // -e: otherwise nginx opens /var/log/nginx/error.log before it reads the config.
    args: (config, dir) => ['-p', dir, '-e', `${dir}/error.log`, '-c', config, '-g', 'daemon off;'],
  },
  apache: { binary: 'apache2', template: 'apache.conf', args: (c) => ['-f', c, '-DFOREGROUND'] },
  lighttpd: { binary: 'lighttpd', template: 'lighttpd.conf', args: (c) => ['-D', '-f', c] },
  caddy: {
    binary: 'caddy',
    template: 'Caddyfile',
    args: (config) => ['run', '--config', config, '--adapter', 'caddyfile'],
  },
};

/**
 * The edits that point a documented config at an app served over TLS (the test certificate is
 * self-signed, so the proxy does not verify it here; a deployment names its CA instead). Each
 * edit must match, so the documented upstream lines and these stay in step. lighttpd 1.4's
 * mod_proxy cannot speak TLS to a backend at all.
 */
const TLS_UPSTREAM: Record<ProxyKind, ((config: string) => string) | undefined> = {
  // nginx does not verify an upstream's certificate unless told to (proxy_ssl_verify off).
  nginx: (config) =>
    replaceAll(config, 'proxy_pass http://127.0.0.1:{{UPSTREAM_PORT}};', (line) =>
      line.replace('http://', 'https://'),
    ),
  apache: (config) =>
    replaceAll(config, /^ProxyPass(Reverse)? \/ http:\/\//gm, (line) =>
      line.replace('http://', 'https://'),
    ).replace(
      /^LoadModule proxy_http_module .*$/m,
      (line) =>
        `${line}\nLoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so\n` +
        'SSLProxyEngine on\nSSLProxyVerify none\nSSLProxyCheckPeerName off\n' +
        'SSLProxyCheckPeerExpire off',
    ),
  lighttpd: undefined,
  caddy: (config) =>
    replaceAll(config, /reverse_proxy 127\.0\.0\.1:\{\{UPSTREAM_PORT\}\} \{\n/, (line) =>
      line
        .replace('127.0.0.1', 'https://127.0.0.1')
        .concat('\t\ttransport http {\n\t\t\ttls_insecure_skip_verify\n\t\t}\n'),
    ),
};

/** Like `String.replace`, but throws when the pattern matches nothing. */
function replaceAll(
  text: string,
  pattern: string | RegExp,
  edit: (match: string) => string,
): string {
  let matched = false;
  const replacer = (match: string) => ((matched = true), edit(match));
  const result =
    typeof pattern === 'string'
      ? text.replaceAll(pattern, replacer)
      : text.replace(pattern, replacer);
  if (!matched) throw new Error(`TLS upstream: ${String(pattern)} is not in the documented config`);
  return result;
}

/**
 * True when `kind` can reach an app served over TLS, as TRANSPORT=h2 serves it. lighttpd 1.4's
 * mod_proxy speaks only cleartext HTTP to its backends.
 */
export function reachesTlsUpstream(kind: ProxyKind): boolean {
  return TLS_UPSTREAM[kind] !== undefined;
}

/** The Debian module the apache backend depends on; apache2 alone cannot offload. */
const XSENDFILE_MODULE = '/usr/lib/apache2/modules/mod_xsendfile.so';
/** Servers live in sbin, which a non-root PATH often lacks. */
const EXTRA_BIN_DIRS = ['/usr/sbin', '/usr/local/sbin', '/sbin', '/usr/bin', '/usr/local/bin'];
const READY_TIMEOUT_MS = 5000;
const STOP_TIMEOUT_MS = 5000;
const PORT_ATTEMPTS = 5;
/** Every server here reports a failed bind within a few ms of starting (measured < 40 ms). */
const BIND_GRACE_MS = 100;

/**
 * The absolute path of the proxy's binary, or `undefined` when it is not installed
 * (for apache also when mod_xsendfile is missing).
 * @example
 * const nginx = findProxyBinary('nginx'); // '/usr/sbin/nginx' or undefined
 */
export function findProxyBinary(kind: ProxyKind): string | undefined {
  if (kind === 'apache' && !isAccessible(XSENDFILE_MODULE, constants.R_OK)) return undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter), ...EXTRA_BIN_DIRS];
  return dirs
    .filter((dir) => dir.startsWith('/'))
    .map((dir) => join(dir, SERVERS[kind].binary))
    .find((file) => isAccessible(file, constants.X_OK));
}

function isAccessible(file: string, mode: number): boolean {
  try {
    accessSync(file, mode);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts the real server in the foreground with the config rendered from docs/proxies/,
 * on a free 127.0.0.1 port, and resolves once that port accepts connections.
 * Files under `filesDir` must be world-readable: nginx and Apache workers drop to an
 * unprivileged user.
 * @example
 * const proxy = await startProxy('nginx', { upstreamPort: 3000, filesDir: '/tmp/files' });
 * await fetch(`${proxy.url}/dl/hello.txt`);
 * await proxy.stop();
 */
export async function startProxy(kind: ProxyKind, options: ProxyOptions): Promise<RunningProxy> {
  const { upstreamPort, filesDir } = options;
  if (!Number.isInteger(upstreamPort) || upstreamPort < 1 || upstreamPort > 65535) {
    throw new RangeError(`upstreamPort must be a TCP port, got ${upstreamPort}`);
  }
  if (!isAbsolute(filesDir)) throw new RangeError(`filesDir must be absolute, got ${filesDir}`);
  if ((options.upstreamScheme ?? APP_SCHEME) === 'https' && !reachesTlsUpstream(kind)) {
    throw new Error(`${kind} cannot reach an upstream over TLS (its mod_proxy speaks only HTTP)`);
  }
  const binary = findProxyBinary(kind);
  if (binary === undefined) throw new Error(`${kind} is not installed`);
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnFreePort(kind, binary, options);
    } catch (error) {
      // Another process may take the port between our probe and the server's bind.
      if (!(error instanceof PortTakenError) || attempt >= PORT_ATTEMPTS) throw error;
    }
  }
}

class PortTakenError extends Error {}

async function startOnFreePort(
  kind: ProxyKind,
  binary: string,
  options: ProxyOptions,
): Promise<RunningProxy> {
  const workDir = await mkdtemp(join(tmpdir(), `kdv-${kind}-`));
  const port = await findFreePort();
  const placeholders = {
    LISTEN_PORT: port,
    UPSTREAM_PORT: options.upstreamPort,
    FILES_DIR: options.filesDir,
    WORK_DIR: workDir,
  };
  const tls = (options.upstreamScheme ?? APP_SCHEME) === 'https' ? TLS_UPSTREAM[kind] : undefined;
  const child = await spawnWithConfig(
    kind,
    binary,
    workDir,
    placeholders,
    options.editConfig,
    tls,
  ).catch(async (error) => {
    await rm(workDir, { recursive: true, force: true });
    throw error;
  });
  const proxy = runningProxy(kind, port, child, workDir);
  try {
    await waitUntilListening(port, child);
    await confirmOwnListener(child, workDir);
  } catch (error) {
    const logs = await proxy.logs();
    await proxy.stop();
    if (/address already in use/i.test(logs)) throw new PortTakenError(logs, { cause: error });
    const message = `${kind} did not start on port ${port}: ${errorMessage(error)}\n${logs}`;
    throw new Error(message, { cause: error });
  }
  return proxy;
}

async function spawnWithConfig(
  kind: ProxyKind,
  binary: string,
  workDir: string,
  placeholders: Record<string, string | number>,
  editConfig?: (template: string) => string,
  tlsUpstream?: (template: string) => string,
): Promise<ChildProcess> {
  // nginx workers (nobody) must reach the temp dirs inside it.
  await chmod(workDir, 0o755);
  const configFile = join(workDir, SERVERS[kind].template);
  const rendered = await renderTemplate(kind, placeholders, editConfig, tlsUpstream);
  await writeFile(configFile, rendered);
  return spawnServer(kind, binary, configFile, workDir);
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Binds port 0, reads the port the kernel chose, then frees it for the server. */
function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function renderTemplate(
  kind: ProxyKind,
  values: Record<string, string | number>,
  editConfig?: (template: string) => string,
  tlsUpstream?: (template: string) => string,
): Promise<string> {
  const documented = await readFile(join(TEMPLATES_DIR, SERVERS[kind].template), 'utf8');
  const edited = editConfig ? editConfig(documented) : documented;
  if (edited === documented && editConfig)
    throw new Error(`${kind}: the config edit changed nothing`);
  const template = tlsUpstream ? tlsUpstream(edited) : edited;
  return template.replace(/\{\{([A-Z_]+)\}\}/g, (placeholder, name: string) => {
    const value = values[name];
    if (value === undefined) throw new Error(`${kind} template: unknown ${placeholder}`);
    return checkedValue(String(value));
  });
}

/** Every value lands inside a quoted config string; these characters would break out of it. */
function checkedValue(value: string): string {
  if (/["\\\p{Cc}]/u.test(value)) throw new Error(`cannot template ${JSON.stringify(value)}`);
  return value;
}

function spawnServer(
  kind: ProxyKind,
  binary: string,
  configFile: string,
  workDir: string,
): ChildProcess {
  const output = openSync(join(workDir, 'server-output.log'), 'a');
  // Caddy writes autosave.json and its data dir under these; keep them in the work dir.
  const env = { ...process.env, HOME: workDir, XDG_DATA_HOME: workDir, XDG_CONFIG_HOME: workDir };
  const child = spawn(binary, SERVERS[kind].args(configFile, workDir), {
    stdio: ['ignore', output, output],
    env: kind === 'caddy' ? env : process.env,
  });
  closeSync(output);
  // A failed spawn (e.g. EACCES) emits 'error' and never 'exit'; unheard, it would crash mocha.
  child.once('error', (error) => spawnErrors.set(child, error));
  return child;
}

function runningProxy(
  kind: ProxyKind,
  port: number,
  child: ChildProcess,
  workDir: string,
): RunningProxy {
  let stopped: Promise<void> | undefined;
  return {
    kind,
    port,
    url: `http://127.0.0.1:${port}`,
    stop: () =>
      (stopped ??= stopServer(child).then(() => rm(workDir, { recursive: true, force: true }))),
    logs: () => readLogs(workDir),
  };
}

const spawnErrors = new WeakMap<ChildProcess, Error>();

function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null || spawnErrors.has(child);
}

/** SIGTERM by the child's PID (never by name); SIGKILL if it does not exit in time. */
async function stopServer(child: ChildProcess): Promise<void> {
  if (hasExited(child)) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function exitReason(child: ChildProcess): string {
  return spawnErrors.get(child)?.message ?? String(child.exitCode ?? child.signalCode);
}

async function readLogs(workDir: string): Promise<string> {
  const names = (await readdir(workDir).catch(() => [])).filter((name) => name.endsWith('.log'));
  const parts = names.sort().map(async (name) => {
    const text = await readFile(join(workDir, name), 'utf8').catch(() => '');
    return `--- ${name} ---\n${text}`;
  });
  return (await Promise.all(parts)).join('\n');
}

async function waitUntilListening(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (hasExited(child)) throw new Error(`exited early: ${exitReason(child)}`);
    if (await acceptsConnections(port)) return;
    await sleep(20);
  }
  throw new Error(`no connection accepted within ${READY_TIMEOUT_MS} ms`);
}

/**
 * A process that grabbed the port after our probe would accept connections too; our server
 * then logs "Address already in use" (nginx keeps retrying, the others exit).
 */
async function confirmOwnListener(child: ChildProcess, workDir: string): Promise<void> {
  await sleep(BIND_GRACE_MS);
  if (hasExited(child)) throw new Error(`exited early: ${exitReason(child)}`);
  if (/address already in use/i.test(await readLogs(workDir))) throw new Error('port taken');
}

function acceptsConnections(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
