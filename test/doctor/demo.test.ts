// `npm run demo:nginx` prints how to run the doctor against itself; run exactly that.
import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { probeContent } from '../../src/doctor/probe.ts';
import { requireBinary } from '../integration/support/require-binary.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const env = { ...process.env, PORT: '0', NODE_V8_COVERAGE: '' };

async function startDemo(): Promise<{ demo: ChildProcess; command: string }> {
  const demo = spawn(process.execPath, ['--import', 'tsx', 'demo/nginx.ts'], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  demo.stdout!.setEncoding('utf8').on('data', (text: string) => (output += text));
  for (let i = 0; i < 300 && !/listening on/.test(output); i++) await sleep(100);
  const command = /^check this deployment: npm run doctor -- (.+)$/m.exec(output)?.[1];
  if (command === undefined) {
    demo.kill('SIGKILL');
    throw new Error(`demo:nginx printed no doctor command:\n${output}`);
  }
  return { demo, command };
}

/** Runs the `doctor` npm script's command line with the printed arguments. */
function doctor(args: string[]): Promise<{ code: number; stdout: string }> {
  const script = ['--import', 'tsx', 'src/cli/koa-downloadview.ts', 'doctor', ...args];
  return new Promise((resolve, reject) => {
    execFile(process.execPath, script, { cwd: ROOT, env }, (error, stdout) => {
      const code = error === null ? 0 : error.code;
      if (typeof code !== 'number') reject(error ?? new Error('no exit code'));
      else resolve({ code, stdout });
    });
  });
}

describe('demo: the doctor against npm run demo:nginx', function () {
  this.timeout(90000);
  let demo: ChildProcess | undefined;
  before(function () {
    requireBinary(this, 'nginx');
  });
  after(async function () {
    if (demo === undefined || demo.exitCode !== null) return;
    const exited = once(demo, 'exit');
    demo.kill('SIGINT');
    await exited;
  });

  it('serves the committed probe, and every check holds through its nginx', async function () {
    const started = await startDemo();
    demo = started.demo;
    const args = started.command.split(' ');
    expect(args).to.have.lengthOf(4);
    const { code, stdout } = await doctor(args);
    expect(code, stdout).to.equal(0);
    expect(stdout).to.match(/^proxy: +nginx; the app delivers by x-accel-redirect$/m);
    expect(stdout).to.match(/All checks hold\.\n$/);
  });

  it('ships demo/files/health/probe.txt as the probe itself, so the demo never rewrites it', async function () {
    const committed = await readFile(new URL('../../demo/files/health/probe.txt', import.meta.url));
    expect(committed.equals(probeContent())).to.equal(true);
  });
});
