// The command's entry in-process (its flags, output and exit codes), and TLS to a
// self-signed public address, which needs --insecure.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { EXIT, main } from '../../src/cli/main.ts';
import { probeContent } from '../../src/doctor/probe.ts';
import { downloadview, healthcheck, type DoctorReport } from '../../src/index.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { skipOrFail } from '../support/skip.ts';

const PATH = '/health/download';

function output() {
  const out: Buffer[] = [];
  const err: string[] = [];
  return {
    stdout: { write: (text: string | Uint8Array) => out.push(Buffer.from(text)) },
    stderr: { write: (text: string) => err.push(text) },
    text: () => Buffer.concat(out).toString('latin1'),
    bytes: () => Buffer.concat(out),
    errors: () => err.join(''),
  };
}

describe('koa-downloadview main()', function () {
  let app: TestServer;
  before(async function () {
    const storage = new MemoryStorage();
    const probe = healthcheck({ storage, name: 'probe.txt' });
    app = await serve(downloadview(), (ctx, next) => (ctx.path === PATH ? probe(ctx) : next()));
  });
  after(() => app.close());

  it('answers help and probe, and refuses wrong command lines with 2', async function () {
    const help = output();
    expect(await main(['help'], help)).to.equal(EXIT.ok);
    expect(help.text()).to.match(/^Usage:\n {2}koa-downloadview doctor --app <url>/);
    for (const args of [['--help'], ['-h'], ['doctor', '--help'], ['doctor', '-h']]) {
      const asked = output();
      expect(await main(args, asked), args.join(' ')).to.equal(EXIT.ok);
      expect(asked.text()).to.equal(help.text());
    }
    const probe = output();
    expect(await main(['probe'], probe)).to.equal(EXIT.ok);
    expect(probe.bytes().equals(probeContent())).to.equal(true);
    const wrong = [
      ['probe', 'extra'],
      ['doctor', '--app'],
      ['doctor', '--app', 'http://127.0.0.1:1/', 'positional'],
      ['doctor', '--app', 'http://127.0.0.1:1/', '--timeout', '0'],
      ['doctor', '--app', 'http://127.0.0.1:1/', '--proxy', 'iis'],
      ['doctor', '--app', 'http://127.0.0.1:1/', '--public', 'example.com/health'],
      ['doctor', '--app', 'http://127.0.0.1:1/', '--app=http://127.0.0.1:2/'],
      ['doctor', '--app', 'http://127.0.0.1:1/', '--internal', 'protected/probe.txt'],
    ];
    for (const args of wrong) {
      const run = output();
      expect(await main(args, run), args.join(' ')).to.equal(EXIT.usage);
      expect(run.errors()).to.match(/^koa-downloadview: /);
      expect(run.text()).to.equal('');
    }
  });

  it('never prints the credentials of a URL it was given', async function () {
    const withCredentials = new URL(app.url + PATH);
    withCredentials.username = 'ops';
    withCredentials.password = 's3cret';
    const text = output();
    await main(['doctor', '--app', withCredentials.href, '--json'], text);
    expect(text.text()).not.to.include('s3cret');
    expect((JSON.parse(text.text()) as DoctorReport).app).to.match(/^http:\/\/\*\*\*@/);
  });

  it('prints the table, or the report as JSON, and exits 0 when all checks hold', async function () {
    const text = output();
    expect(await main(['doctor', '--app', app.url + PATH], text)).to.equal(EXIT.ok);
    expect(text.text()).to.match(/\(no proxy\)\n/);
    expect(text.text()).to.match(/^6 +n\/a +0\.0 ms +the internal location/m);
    const json = output();
    expect(
      await main(['doctor', '--app', app.url + PATH, '--json', '--expect', 'stream'], json),
    ).to.equal(EXIT.ok);
    const report = JSON.parse(json.text()) as DoctorReport;
    expect(report).to.include({ ok: true, delivery: 'stream' });
    expect(report).not.to.have.property('proxy');
    expect(report.checks.map((check) => check.id)).to.deep.equal([
      'app',
      'app-answer',
      'bytes',
      'leaks',
      'range',
      'internal',
      'client-headers',
    ]);
  });

  it('exits 1 and prints each diagnosis with its layer and fix', async function () {
    const run = output();
    expect(await main(['doctor', '--app', app.url + '/elsewhere'], run)).to.equal(EXIT.failed);
    expect(run.text()).to.match(/^app-no-probe {2}\(layer: app\)\n {2}No health-check route/m);
    expect(run.text()).to.match(/^ {2}fix: Mount `healthcheck/m);
    expect(run.text()).to.match(/1 problem\(s\) found\.\n$/);
  });

  describe('with a self-signed certificate on --public', function () {
    let dir: string;
    let tls: Server;
    let publicUrl: string;
    before(async function () {
      dir = await mkdtemp(join(tmpdir(), 'kdv-doctor-tls-'));
      const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
      const openssl = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1'];
      const subject = ['-subj', '/CN=127.0.0.1', '-keyout', key, '-out', cert];
      try {
        await promisify(execFile)('openssl', [...openssl, ...subject]);
      } catch {
        return skipOrFail(this, 'openssl is not installed');
      }
      // The same app, served over TLS: the "public" address of a deployment without a proxy.
      tls = createServer(
        { key: await readFile(key), cert: await readFile(cert) },
        app.app.callback(),
      );
      await new Promise<void>((resolve) => tls.listen(0, '127.0.0.1', resolve));
      publicUrl = `https://127.0.0.1:${(tls.address() as AddressInfo).port}${PATH}`;
    });
    after(async function () {
      tls?.closeAllConnections();
      await new Promise((resolve) => (tls ? tls.close(resolve) : resolve(undefined)));
      if (dir) await rm(dir, { recursive: true, force: true });
    });

    it('fails as proxy-unreachable without --insecure, and holds with it', async function () {
      const strict = output();
      const args = ['doctor', '--app', app.url + PATH, '--public', publicUrl, '--json'];
      expect(await main(args, strict)).to.equal(EXIT.failed);
      const refused = JSON.parse(strict.text()) as DoctorReport;
      expect(refused.diagnoses.map((found) => found.id)).to.deep.equal(['proxy-unreachable']);
      expect(refused.checks[2]?.detail).to.match(/self.signed/i);
      const insecure = output();
      expect(await main([...args, '--insecure'], insecure)).to.equal(EXIT.ok);
    });
  });
});
