import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { downloadview, StorageFile } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { randomFile, tempTree } from '../support/fixtures.ts';
import { request } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { requireBinary } from '../integration/support/require-binary.ts';
import { http1Only } from '../support/transport.ts';
import { recordingHook, type RecordingHook } from './support.ts';

const ROOT = new URL('../../', import.meta.url);

/** The ```nginx block of docs/events.md that contains `marker`. */
async function documentedBlock(marker: string): Promise<string> {
  const doc = await readFile(new URL('docs/events.md', ROOT), 'utf8');
  const blocks = [...doc.matchAll(/^```nginx\n([^]*?)^```$/gm)].map((match) => match[1] ?? '');
  const block = blocks.find((text) => text.includes(marker));
  if (block === undefined) throw new Error(`docs/events.md has no nginx block with ${marker}`);
  return block;
}

/**
 * docs/proxies/nginx.conf with the two blocks of docs/events.md added where the doc says:
 * the log format in `http { }`, the request id in `location / { }`.
 */
async function renderConfig(values: Record<string, string | number>): Promise<string> {
  const template = await readFile(new URL('docs/proxies/nginx.conf', ROOT), 'utf8');
  const logFormat = (await documentedBlock('log_format downloads')).replace(
    '/var/log/nginx/downloads.log',
    `"${values.WORK_DIR}/downloads.log"`,
  );
  const requestId = await documentedBlock('X-Request-Id');
  const config = template
    .replace(/^(\s*access_log "\{\{WORK_DIR\}\}\/access.log";)$/m, `$1\n${logFormat}`)
    .replace(/^(\s*proxy_set_header X-Forwarded-Proto \$scheme;)$/m, `$1\n${requestId}`);
  expect(config).to.include('log_format downloads').and.include('X-Request-Id $request_id');
  return config.replace(/\{\{([A-Z_]+)\}\}/g, (_, name: string) => String(values[name]));
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function untilListening(port: number, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nginx exited with ${child.exitCode}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await sleep(20);
  }
  throw new Error('nginx did not listen in time');
}

/** One line of the documented `downloads` format, as fields. */
function parseLine(line: string): Record<string, string> {
  const match =
    /^(\S+) (\w+) (\S+) "([^"]*)" (\d+) sent=(\d+) complete="([^"]*)" time=(\S+) handoff="([^"]*)" app_status=(\S+) app_time=(\S+)$/.exec(
      line,
    );
  if (!match) throw new Error(`unexpected log line: ${line}`);
  const [, time, id, ip, req, status, sent, complete, , handoff, appStatus] = match;
  return { time, id, ip, request: req, status, sent, complete, handoff, appStatus } as Record<
    string,
    string
  >;
}

describe('download events: the documented nginx log_format, behind the real nginx', function () {
  const size = 300 * 1024;
  let nginxBinary: string;
  let files: Awaited<ReturnType<typeof tempTree>>;
  let workDir: string;
  let app: TestServer;
  let nginx: ChildProcess;
  let port: number;
  let recorder: RecordingHook;

  before(async function () {
    http1Only(this, 'it renders its own nginx config (the log_format of docs/events.md)');
    nginxBinary = requireBinary(this, 'nginx');
    files = await tempTree({ 'report.bin': randomFile(size) });
    // nginx workers run as an unprivileged user: the files must be readable by anyone.
    await chmod(files.dir, 0o755);
    await chmod(join(files.dir, 'report.bin'), 0o644);
    recorder = recordingHook();
    const storage = new FileSystemStorage({ location: files.dir });
    const view = downloadview({
      backend: 'nginx',
      rules: [{ sourceDir: files.dir, destinationUrl: '/protected/' }],
      onDownload: recorder.hook,
      telemetry: false,
    });
    app = await serve(view, (ctx) => {
      ctx.body = new StorageFile(storage, 'report.bin');
    });
    workDir = await mkdtemp(join(tmpdir(), 'kdv-nginx-log-'));
    await chmod(workDir, 0o755);
    port = await freePort();
    const config = join(workDir, 'nginx.conf');
    await writeFile(
      config,
      await renderConfig({
        LISTEN_PORT: port,
        UPSTREAM_PORT: new URL(app.url).port,
        FILES_DIR: files.dir,
        WORK_DIR: workDir,
      }),
    );
    nginx = spawn(
      nginxBinary,
      ['-p', workDir, '-e', `${workDir}/error.log`, '-c', config, '-g', 'daemon off;'],
      { stdio: 'ignore' },
    );
    await untilListening(port, nginx);
  });

  after(async () => {
    if (nginx && nginx.exitCode === null) {
      const exited = new Promise((resolve) => nginx.once('exit', resolve));
      nginx.kill('SIGTERM'); // by the PID of the nginx this suite started
      await exited;
    }
    await app?.close();
    await files?.cleanup();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('logs the hand-off, the bytes nginx sent and the request id the app saw', async () => {
    const full = await request(`http://127.0.0.1:${port}/download`);
    expect(full.status).to.equal(200);
    expect(full.body.length).to.equal(size);
    const range = await request(`http://127.0.0.1:${port}/download`, {
      headers: { Range: 'bytes=0-99' },
    });
    expect(range.status).to.equal(206);
    await recorder.until(4);
    const offloads = recorder.events.filter((event) => event.type === 'offload');
    const ids = offloads.map((event) => event.ctx.get('X-Request-Id'));
    expect(ids.every((id) => /^[0-9a-f]{32}$/.test(id))).to.equal(true);

    const log = await readFile(join(workDir, 'downloads.log'), 'utf8');
    const lines = log.trim().split('\n').map(parseLine);
    expect(lines).to.have.length(2);
    expect(lines[0]).to.include({
      id: ids[0],
      request: 'GET /download HTTP/1.1',
      status: '200',
      sent: String(size),
      complete: 'OK',
      handoff: '/protected/report.bin',
      appStatus: '200',
    });
    expect(lines[1]).to.include({ id: ids[1], status: '206', sent: '100', complete: 'OK' });
    expect(lines[1]).to.include({ handoff: '/protected/report.bin' });
  });
});
