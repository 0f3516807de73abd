// healthcheck() through a listening Koa app, and the doctor's app and storage diagnoses
// (no proxy needed: the app is asked directly).
import { expect } from 'chai';
import type { Context, Next } from 'koa';
import {
  downloadview,
  healthcheck,
  runDoctor,
  storageDownload,
  xSendfile,
  type DownloadViewOptions,
  type Storage,
} from '../../src/index.ts';
import { probeContent } from '../../src/doctor/probe.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { serve, type TestServer } from '../support/koa.ts';

const PATH = '/health/download';
const NAME = 'health/probe.txt';
const probe = probeContent();
const servers: TestServer[] = [];

type Route = (ctx: Context, next: Next) => Promise<unknown>;

async function app(options: DownloadViewOptions, route: Route): Promise<TestServer> {
  const server = await serve(downloadview(options), route);
  servers.push(server);
  return server;
}

function at(path: string, handler: (ctx: Context, next: Next) => Promise<unknown>): Route {
  return (ctx, next) => (ctx.path === path ? handler(ctx, next) : next());
}

/** A storage that can be read but not written: `save` is absent. */
function readOnly(storage: MemoryStorage): Storage {
  return {
    driver: 'read-only',
    stat: (name) => storage.stat(name),
    open: (name, range, options) => storage.open(name, range, options),
  };
}

async function get(url: string, headers: Record<string, string> = {}) {
  const response = await fetch(url, { headers });
  return { response, body: Buffer.from(await response.arrayBuffer()) };
}

afterEach(async function () {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

describe('healthcheck()', function () {
  it('refuses a missing storage, an empty name and unknown options', function () {
    const storage = new MemoryStorage();
    expect(() => healthcheck({ storage: {} as Storage, name: NAME })).to.throw(
      TypeError,
      /"storage"/,
    );
    expect(() => healthcheck({ storage, name: '' })).to.throw(TypeError, /"name"/);
    expect(() => healthcheck({ storage, name: '.well-known/probe' })).to.throw(TypeError, /"name"/);
    const unknown = { storage, name: NAME, path: 'x' } as never;
    expect(() => healthcheck(unknown)).to.throw(TypeError, /path/);
  });

  it('writes the probe into an empty storage, streams it, and says so without a path', async function () {
    const storage = new MemoryStorage();
    const server = await app({}, at(PATH, healthcheck({ storage, name: NAME })));
    const { response, body } = await get(server.url + PATH);
    expect(response.status).to.equal(200);
    expect(response.headers.get('x-download-probe')).to.equal('v=1; delivery=stream');
    expect(response.headers.get('cache-control')).to.equal('no-store');
    expect(body.equals(probe)).to.equal(true);
    expect((await storage.stat(NAME)).size).to.equal(probe.length);
  });

  it('replaces a file of another size under its name', async function () {
    const storage = new MemoryStorage({ files: { [NAME]: 'stale' } });
    const server = await app({}, at(PATH, healthcheck({ storage, name: NAME })));
    expect((await get(server.url + PATH)).body.equals(probe)).to.equal(true);
  });

  it('replaces a file of the probe size that holds other bytes', async function () {
    const storage = new MemoryStorage({ files: { [NAME]: Buffer.alloc(probe.length, 0x61) } });
    const server = await app({}, at(PATH, healthcheck({ storage, name: NAME })));
    expect((await get(server.url + PATH)).body.equals(probe)).to.equal(true);
  });

  it('writes the probe once for 20 concurrent first requests', async function () {
    const storage = new MemoryStorage();
    let saves = 0;
    const counted: Storage = {
      driver: 'counted',
      stat: (name) => storage.stat(name),
      open: (name, range, options) => storage.open(name, range, options),
      save: (name, content) => (saves++, storage.save(name, content)),
    };
    const server = await app({}, at(PATH, healthcheck({ storage: counted, name: NAME })));
    const bodies = await Promise.all(Array.from({ length: 20 }, () => get(server.url + PATH)));
    expect(bodies.every(({ body }) => body.equals(probe))).to.equal(true);
    expect(saves).to.equal(1);
  });

  it('reports the offload an app-wide rule chose: x-accel-redirect, with an empty body', async function () {
    const storage = new MemoryStorage({ baseUrl: '/media/' });
    const rules = [{ sourceUrl: '/media/', destinationUrl: '/protected/' }];
    const server = await app(
      { backend: 'nginx', rules },
      at(PATH, healthcheck({ storage, name: NAME })),
    );
    const { response, body } = await get(server.url + PATH);
    expect(response.headers.get('x-download-probe')).to.equal('v=1; delivery=x-accel-redirect');
    expect(response.headers.get('x-accel-redirect')).to.equal('/protected/health/probe.txt');
    expect(body.length).to.equal(0);
  });

  it('without --public, blames the app that offloads with no proxy in front (layer app)', async function () {
    const storage = new MemoryStorage({ baseUrl: '/media/' });
    const rules = [{ sourceUrl: '/media/', destinationUrl: '/protected/' }];
    const server = await app(
      { backend: 'nginx', rules },
      at(PATH, healthcheck({ storage, name: NAME })),
    );
    const report = await runDoctor({ app: server.url + PATH });
    expect(report.ok).to.equal(false);
    expect(report.diagnoses.map((found) => [found.id, found.layer])).to.deep.equal([
      ['offload-without-proxy', 'app'],
    ]);
  });

  it('reports the offload of a per-route wrapper under a streaming app: x-sendfile', async function () {
    const storage = new MemoryStorage({ baseUrl: '/media/' });
    const route = xSendfile(healthcheck({ storage, name: NAME }), {
      sourceUrl: '/media/',
      destinationDir: '/srv/media',
    });
    const server = await app({}, at(PATH, route));
    const { response } = await get(server.url + PATH);
    expect(response.headers.get('x-download-probe')).to.equal('v=1; delivery=x-sendfile');
    expect(response.headers.get('x-sendfile')).to.equal('/srv/media/health/probe.txt');
  });

  it("reports what 'auto' decided per request: stream without the proxy's headers", async function () {
    const storage = new MemoryStorage({ baseUrl: '/media/' });
    const server = await app(
      { backend: 'auto', trustedProxies: ['203.0.113.9'] },
      at(PATH, healthcheck({ storage, name: NAME })),
    );
    const { response, body } = await get(server.url + PATH, {
      'X-Sendfile-Type': 'X-Accel-Redirect',
    });
    // The peer (127.0.0.1) is not trusted: its X-Sendfile-Type is ignored.
    expect(response.headers.get('x-download-probe')).to.equal('v=1; delivery=stream');
    expect(body.equals(probe)).to.equal(true);
  });

  it('answers 404 marked as the probe when a read-only storage lacks it', async function () {
    const storage = readOnly(new MemoryStorage());
    const server = await app({}, at(PATH, healthcheck({ storage, name: NAME })));
    const { response } = await get(server.url + PATH);
    expect(response.status).to.equal(404);
    expect(response.headers.get('x-download-probe')).to.equal('v=1; delivery=error');
  });
});

describe('doctor: app and storage diagnoses', function () {
  it('blames the storage when a read-only storage lacks the probe', async function () {
    const storage = readOnly(new MemoryStorage());
    const server = await app({}, at(PATH, healthcheck({ storage, name: NAME })));
    const report = await runDoctor({ app: server.url + PATH });
    expect(report.ok).to.equal(false);
    expect(report.diagnoses.map((found) => [found.id, found.layer])).to.deep.equal([
      ['probe-unavailable', 'storage'],
    ]);
    expect(report.checks.slice(1).every((check) => check.verdict === 'not run')).to.equal(true);
  });

  it('blames the storage when it holds other bytes of the probe size it cannot replace', async function () {
    const storage = readOnly(
      new MemoryStorage({ files: { [NAME]: Buffer.alloc(probe.length, '#') } }),
    );
    const server = await app({}, at(PATH, healthcheck({ storage, name: NAME })));
    const report = await runDoctor({ app: server.url + PATH });
    expect(report.diagnoses.map((found) => found.id)).to.include('storage-probe-corrupt');
    expect(report.diagnoses.find((found) => found.id === 'storage-probe-corrupt')?.layer).to.equal(
      'storage',
    );
  });

  it('blames the app when no health-check route answers, or nothing listens', async function () {
    const storage = new MemoryStorage();
    const server = await app({}, at('/files/probe', storageDownload({ storage, path: NAME })));
    const noRoute = await runDoctor({ app: server.url + PATH });
    expect(noRoute.diagnoses.map((found) => [found.id, found.layer])).to.deep.equal([
      ['app-no-probe', 'app'],
    ]);
    const url = server.url + PATH;
    await server.close();
    const down = await runDoctor({ app: url, timeoutMs: 2000 });
    expect(down.diagnoses.map((found) => found.id)).to.deep.equal(['app-unreachable']);
  });

  it('with --expect offload, blames the app that streams the probe', async function () {
    const storage = new MemoryStorage();
    const server = await app({}, at(PATH, healthcheck({ storage, name: NAME })));
    const report = await runDoctor({ app: server.url + PATH, expect: 'offload' });
    expect(report.diagnoses.map((found) => [found.id, found.layer])).to.deep.equal([
      ['app-delivery-unexpected', 'app'],
    ]);
  });

  it("finds 'auto' without a proxy: a client can turn offload on", async function () {
    const dir = await mkdtemp(join(tmpdir(), 'kdv-doctor-auto-'));
    try {
      const storage = new FileSystemStorage({ location: dir });
      // The doctor's own address is trusted, as a proxy's would be: nothing clears its headers.
      const server = await app(
        { backend: 'auto', trustedProxies: ['127.0.0.1'] },
        at(PATH, healthcheck({ storage, name: NAME })),
      );
      const report = await runDoctor({ app: server.url + PATH });
      expect(report.diagnoses.map((found) => found.id)).to.deep.equal([
        'proxy-forwards-offload-headers',
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('follows a redirect to the storage URL, and every check holds', async function () {
    const storage = new MemoryStorage();
    const origin = await app({}, async (ctx, next) => {
      if (!ctx.path.startsWith('/files/')) return next();
      return storageDownload({ storage, path: ctx.path.slice('/files/'.length) })(ctx);
    });
    const linked = new MemoryStorage({ baseUrl: `${origin.url}/files/` });
    // The probe the redirecting app writes is the one the origin serves.
    const shared: Storage = {
      driver: 'linked',
      stat: (name) => storage.stat(name),
      open: (name, range, options) => storage.open(name, range, options),
      save: (name, content) => storage.save(name, content),
      url: (name) => linked.url(name),
    };
    const server = await app(
      { backend: 'redirect' },
      at(PATH, healthcheck({ storage: shared, name: NAME })),
    );
    const report = await runDoctor({ app: server.url + PATH });
    expect(report.delivery).to.equal('redirect');
    expect(report.checks.filter((check) => check.verdict === 'fail')).to.deep.equal([]);
    expect(report.ok).to.equal(true);
  });
});
