// The command itself, as a child process: exit codes, the table, --json, usage errors.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { probeContent } from '../../src/doctor/probe.ts';
import type { DoctorReport } from '../../src/index.ts';
import { requireBinary } from '../integration/support/require-binary.ts';
import { edit, startDeployment, type Deployment } from './support/deployment.ts';

const CLI = fileURLToPath(new URL('../../src/cli/koa-downloadview.ts', import.meta.url));

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', CLI, ...args],
      { env: { ...process.env, NODE_V8_COVERAGE: '' }, encoding: 'latin1', maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : error.code;
        if (typeof code !== 'number') return reject(error ?? new Error('no exit code'));
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe('koa-downloadview command', function () {
  this.timeout(60000);

  it('exits 2 with the usage for no command, an unknown one, a bad flag or a bad URL', async function () {
    const runs = await Promise.all([
      cli(),
      cli('cure'),
      cli('doctor', '--app', 'http://127.0.0.1:1/x', '--colour'),
      cli('doctor', '--app', 'ftp://example.com/x'),
      cli('doctor'),
      cli('doctor', '--app', 'http://127.0.0.1:1/x', '--timeout', 'soon'),
      cli('doctor', '--app', 'http://127.0.0.1:1/x', '--expect', 'magic'),
    ]);
    for (const run of runs) {
      expect(run.code, run.stderr).to.equal(2);
      expect(run.stderr).to.match(/^koa-downloadview: .+\n\nUsage:/);
      expect(run.stdout).to.equal('');
    }
    expect(runs[3]?.stderr).to.include('--app must be an http or https URL');
  });

  it('prints the probe with `probe`, byte for byte', async function () {
    const run = await cli('probe');
    expect(run.code).to.equal(0);
    expect(Buffer.from(run.stdout, 'latin1').equals(probeContent())).to.equal(true);
  });

  describe('behind nginx', function () {
    let deployment: Deployment | undefined;
    before(function () {
      requireBinary(this, 'nginx');
    });
    afterEach(async function () {
      await deployment?.stop();
      deployment = undefined;
    });

    it('exits 0 and prints the table when every check holds', async function () {
      deployment = await startDeployment('nginx', 'named');
      const run = await cli('doctor', '--app', deployment.appUrl, '--public', deployment.publicUrl);
      expect(run.code, run.stdout + run.stderr).to.equal(0);
      expect(run.stdout).to.match(
        /^3 +ok +[\d.]+ ms +through the proxy, the probe's bytes arrive intact/m,
      );
      expect(run.stdout).to.match(/^proxy: +nginx; the app delivers by x-accel-redirect$/m);
      expect(run.stdout).to.match(/All checks hold\.\n$/);
    });

    it('exits 1 and names the break, in --json too', async function () {
      const wrongAlias = edit('alias "{{FILES_DIR}}/";', 'alias "{{FILES_DIR}}/elsewhere/";');
      deployment = await startDeployment('nginx', 'named', wrongAlias);
      const args = ['doctor', '--app', deployment.appUrl, '--public', deployment.publicUrl];
      const text = await cli(...args);
      expect(text.code).to.equal(1);
      expect(text.stdout).to.match(/^offload-target-not-found +\(layer: proxy configuration\)$/m);
      expect(text.stdout).to.match(/^ {2}fix: .*nginx `alias`/m);
      const json = await cli(...args, '--json', '--timeout', '8000');
      expect(json.code).to.equal(1);
      const report = JSON.parse(json.stdout) as DoctorReport;
      expect(report.ok).to.equal(false);
      expect(report.diagnoses.map((found) => [found.id, found.layer])).to.deep.equal([
        ['offload-target-not-found', 'proxy'],
      ]);
      expect(report.checks.map((check) => check.verdict)).to.deep.equal([
        'pass',
        'pass',
        'fail',
        'pass',
        'not run',
        'pass',
        'not run',
      ]);
    });
  });
});
