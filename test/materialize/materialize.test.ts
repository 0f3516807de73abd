import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import {
  HttpFile,
  materialize,
  StorageUnavailableError,
  VirtualFile,
  type Storage,
} from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { tempTree } from '../support/fixtures.ts';
import { request } from '../support/http.ts';
import { gate, listFiles, materializingApp, type MaterializingApp } from './support.ts';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const REPORT = randomBytes(300 * 1024);

/** A generated report: a stream of 16 KiB chunks, so a copy takes many writes. */
async function* chunks(bytes: Buffer, before?: Promise<void>): AsyncGenerator<Buffer> {
  await before;
  for (let at = 0; at < bytes.length; at += 16 * 1024) {
    yield bytes.subarray(at, at + 16 * 1024);
    await tick();
  }
}

const report = (before?: Promise<void>) =>
  new VirtualFile(chunks(REPORT, before), { name: 'Q3 report.bin', contentType: 'text/csv' });

interface StorageCase {
  label: string;
  make(): Promise<{ storage: Storage; leftovers(): Promise<string[]>; cleanup(): Promise<void> }>;
}

const CASES: StorageCase[] = [
  {
    label: 'MemoryStorage',
    async make() {
      const storage = new MemoryStorage();
      const names = ['r1', 'r1.materialized.json', 'bad', 'bad.materialized.json'];
      const leftovers = async () => {
        const found = await Promise.all(names.map(async (n) => [n, await storage.exists(n)]));
        return found.filter(([, exists]) => exists).map(([n]) => n as string);
      };
      return { storage, leftovers, cleanup: async () => {} };
    },
  },
  {
    label: 'FileSystemStorage',
    async make() {
      const { dir, cleanup } = await tempTree({});
      const storage = new FileSystemStorage({ location: dir });
      return { storage, leftovers: () => listFiles(dir), cleanup };
    },
  },
];

for (const { label, make } of CASES) {
  describe(`materialize() over ${label}, through HTTP`, function () {
    let store: Awaited<ReturnType<StorageCase['make']>>;
    let app: MaterializingApp | undefined;

    beforeEach(async () => {
      store = await make();
    });
    afterEach(async () => {
      await app?.close();
      app = undefined;
      await store.cleanup();
    });

    it('generates once, then serves the stored copy with the original name and type', async function () {
      app = await materializingApp(store.storage, () => report());
      const first = await request(`${app.url}/report/r1`);
      const second = await request(`${app.url}/report/r1`);
      for (const res of [first, second]) {
        expect(res.status).to.equal(200);
        expect(sha256(res.body)).to.equal(sha256(REPORT));
        expect(res.headers['content-type']).to.equal('text/csv');
        expect(res.headers['content-disposition']).to.equal(`attachment; filename="Q3 report.bin"`);
      }
      expect(app.generations).to.equal(1);
      expect(second.headers['content-length']).to.equal(String(REPORT.length));
    });

    it('serves a range of the stored copy, which the generated stream alone could not', async function () {
      app = await materializingApp(store.storage, () => report());
      const res = await request(`${app.url}/report/r1`, { headers: { Range: 'bytes=100-199' } });
      expect(res.status).to.equal(206);
      expect(res.body.equals(REPORT.subarray(100, 200))).to.equal(true);
    });

    it('8 concurrent first requests: one generation, 8 identical complete bodies', async function () {
      const allArrived = gate();
      app = await materializingApp(store.storage, () => report(allArrived.opened));
      const server = app;
      const answers = Array.from({ length: 8 }, () => request(`${server.url}/report/r1`));
      while (server.arrivals < 8) await tick();
      allArrived.open();
      const results = await Promise.all(answers);
      expect(results.map((r) => r.status)).to.deep.equal(Array(8).fill(200));
      expect(new Set(results.map((r) => sha256(r.body)))).to.deep.equal(new Set([sha256(REPORT)]));
      expect(server.generations).to.equal(1);
    });

    it('a generator that throws mid-stream: 500 to every waiter, nothing stored, next try works', async function () {
      let fail = true;
      app = await materializingApp(store.storage, () => {
        async function* broken(): AsyncGenerator<Buffer> {
          yield REPORT.subarray(0, 1000);
          await tick();
          throw new Error('the database went away');
        }
        return fail ? new VirtualFile(broken(), { name: 'r.bin' }) : report();
      });
      const results = await Promise.all([1, 2].map(() => request(`${app!.url}/report/r1`)));
      expect(results.map((r) => r.status)).to.deep.equal([500, 500]);
      expect(await store.leftovers()).to.deep.equal([]);
      fail = false;
      const retry = await request(`${app.url}/report/r1`);
      expect(retry.status).to.equal(200);
      expect(sha256(retry.body)).to.equal(sha256(REPORT));
    });

    it('a generation that never ends: 504 after the timeout, nothing stored', async function () {
      app = await materializingApp(
        store.storage,
        () => new VirtualFile(chunks(REPORT, new Promise(() => {})), { name: 'r.bin' }),
        { timeout: 300 },
      );
      const res = await request(`${app.url}/report/r1`);
      expect(res.status).to.equal(504);
      expect(await store.leftovers()).to.deep.equal([]);
    });

    it('a stream shorter than its declared size is not stored (500)', async function () {
      app = await materializingApp(
        store.storage,
        () => new VirtualFile(chunks(REPORT.subarray(0, 1000)), { name: 'r.bin', size: 2000 }),
      );
      const res = await request(`${app.url}/report/r1`);
      expect(res.status).to.equal(500);
      expect(await store.leftovers()).to.deep.equal([]);
    });

    it('a client that leaves during the first generation does not stop it for the others', async function () {
      const release = gate();
      app = await materializingApp(store.storage, () => report(release.opened));
      const server = app;
      const leaving = new AbortController();
      const left = fetch(`${server.url}/report/r1`, { signal: leaving.signal }).catch(
        (err: Error) => err.name,
      );
      while (server.arrivals < 1) await tick();
      leaving.abort();
      expect(await left).to.equal('AbortError');
      const staying = request(`${server.url}/report/r1`);
      while (server.arrivals < 2) await tick();
      release.open();
      const res = await staying;
      expect(res.status).to.equal(200);
      expect(sha256(res.body)).to.equal(sha256(REPORT));
      expect(server.generations).to.equal(1);
    });

    describe('security: keys are storage names, confined and checked', function () {
      // 238 bytes: the metadata's name would be 256, over every filesystem's segment limit.
      const long = ['k'.repeat(238), 'k'.repeat(300)];
      for (const key of [
        '../escape',
        '.hidden',
        'a/../../b',
        'x.materialized.json',
        '/abs',
        ...long,
      ]) {
        it(`key ${JSON.stringify(key)} is answered 404 and writes nothing`, async function () {
          app = await materializingApp(store.storage, () => report());
          const res = await request(`${app.url}/report/${encodeURIComponent(key)}`);
          expect(res.status).to.equal(404);
          expect(app.generations).to.equal(0);
          expect(await store.leftovers()).to.deep.equal([]);
        });
      }

      it('a key of 237 bytes, the longest whose metadata name fits, is generated and served', async function () {
        app = await materializingApp(store.storage, () => report());
        const res = await request(`${app.url}/report/${'k'.repeat(237)}`);
        expect(res.status).to.equal(200);
        expect(sha256(res.body)).to.equal(sha256(REPORT));
      });

      it('a key under a name that is a file (ok/sub) is answered 404, never 5xx', async function () {
        await store.storage.save!('ok', 'a file');
        app = await materializingApp(store.storage, () => report());
        const res = await request(`${app.url}/report/${encodeURIComponent('ok/sub')}`);
        // A storage with directories cannot make one there; a flat one (memory) just stores it.
        expect(res.status).to.be.oneOf(label === 'MemoryStorage' ? [200] : [404]);
      });

      it('a metadata record that is not valid is regenerated, never trusted', async function () {
        await store.storage.save!('r1', 'stale bytes');
        await store.storage.save!('r1.materialized.json', '{"filename": 3}');
        app = await materializingApp(store.storage, () => report());
        const res = await request(`${app.url}/report/r1`);
        expect(sha256(res.body)).to.equal(sha256(REPORT));
        expect(app.generations).to.equal(1);
      });
    });
  });
}

describe('materialize() of an HttpFile', function () {
  let origin: Server;
  let originUrl: string;
  let cleanup: () => Promise<void>;
  let dir: string;
  let app: MaterializingApp | undefined;
  let gets = 0;

  before(async () => {
    origin = createServer((req, res) => {
      gets++;
      if (req.url === '/reset.csv') {
        res.writeHead(200, { 'Content-Length': String(REPORT.length), 'Content-Type': 'text/csv' });
        res.write(REPORT.subarray(0, 50_000), () => res.destroy());
        return;
      }
      res.writeHead(200, {
        'Content-Length': String(REPORT.length),
        'Content-Type': 'text/csv; charset=utf-8',
      });
      res.end(REPORT);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => origin.close(() => resolve())));
  beforeEach(async () => {
    ({ dir, cleanup } = await tempTree({}));
    gets = 0;
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
    await cleanup();
  });

  it("keeps the origin's type and name, and asks the origin once", async function () {
    const storage = new FileSystemStorage({ location: dir });
    app = await materializingApp(storage, () => new HttpFile(`${originUrl}/exports/all.csv`));
    for (let i = 0; i < 3; i++) {
      const res = await request(`${app.url}/report/all`);
      expect(res.status).to.equal(200);
      expect(sha256(res.body)).to.equal(sha256(REPORT));
      expect(res.headers['content-type']).to.equal('text/csv; charset=utf-8');
      expect(res.headers['content-disposition']).to.equal('attachment; filename="all.csv"');
    }
    expect(gets).to.equal(1);
  });

  it('an origin that resets mid-body: 502, no file and no temporary file left', async function () {
    const storage = new FileSystemStorage({ location: dir });
    app = await materializingApp(storage, () => new HttpFile(`${originUrl}/reset.csv`));
    const res = await request(`${app.url}/report/reset`);
    expect(res.status).to.equal(502);
    expect(await listFiles(dir)).to.deep.equal([]);
  });
});

describe('materialize() set-up and generators that misbehave', function () {
  let app: MaterializingApp | undefined;
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  it('refuses a storage without save(), an unknown option and a bad timeout', async function () {
    const readOnly: Storage = {
      driver: 'ro',
      stat: async () => ({ size: 0, modified: new Date() }),
      open: async () => Readable.from([]),
    };
    const generate = () => report();
    const failures = await Promise.all([
      materialize({ storage: readOnly, key: 'k', generate }).catch(
        (err: { status?: number }) => err.status,
      ),
      materialize({ storage: new MemoryStorage(), key: 'k', generate, timeOut: 5 } as never).catch(
        (err: Error) => err.message,
      ),
      materialize({ storage: new MemoryStorage(), key: 'k', generate, timeout: 0 }).catch(
        (err: Error) => err.message,
      ),
    ]);
    expect(failures[0]).to.equal(500);
    expect(failures[1]).to.match(/unknown option "timeOut"/);
    expect(failures[2]).to.match(/"timeout" must be a positive number/);
    const wrong = [
      { storage: {}, key: 'k', generate },
      { storage: new MemoryStorage(), key: 42, generate },
      { storage: new MemoryStorage(), key: 'k', generate: report() },
    ];
    for (const options of wrong) {
      const err = await materialize(options as never).catch((error: Error) => error);
      expect(err).to.be.instanceOf(TypeError);
    }
  });

  it('metadata that cannot be written: the error is answered (503) and the bytes removed', async function () {
    const storage = new MemoryStorage();
    const failingMetadata: Storage = {
      driver: storage.driver,
      stat: (name) => storage.stat(name),
      open: (name) => storage.open(name),
      delete: (name) => storage.delete(name),
      save: async (name, content) => {
        if (name.endsWith('.materialized.json')) {
          throw new StorageUnavailableError('memory', 'the disk is full');
        }
        await storage.save(name, content);
      },
    };
    app = await materializingApp(failingMetadata, () => report());
    expect((await request(`${app.url}/report/r1`)).status).to.equal(503);
    expect(await storage.exists('r1')).to.equal(false);
  });

  it('a storage that cannot be read: 503, and nothing is generated', async function () {
    const down: Storage = {
      driver: 'down',
      stat: async () => Promise.reject(new StorageUnavailableError('down', 'unreachable')),
      open: async () => Promise.reject(new StorageUnavailableError('down', 'unreachable')),
      save: async () => {},
    };
    app = await materializingApp(down, () => report());
    expect((await request(`${app.url}/report/r1`)).status).to.equal(503);
    expect(app.generations).to.equal(0);
  });

  it('a metadata record that is not JSON is regenerated', async function () {
    const storage = new MemoryStorage({ files: { r1: 'old', 'r1.materialized.json': '{oops' } });
    app = await materializingApp(storage, () => report());
    const res = await request(`${app.url}/report/r1`);
    expect(sha256(res.body)).to.equal(sha256(REPORT));
    expect(app.generations).to.equal(1);
  });

  it('a generate() that never returns is bounded by the timeout too: 504', async function () {
    const storage = new MemoryStorage();
    app = await materializingApp(storage, () => new Promise(() => {}), { timeout: 200 });
    expect((await request(`${app.url}/report/r1`)).status).to.equal(504);
    expect(await storage.exists('r1')).to.equal(false);
  });

  it('a generate() that returns no DownloadFile: 500, nothing stored', async function () {
    const storage = new MemoryStorage();
    app = await materializingApp(storage, () => 'not a file' as never);
    expect((await request(`${app.url}/report/r1`)).status).to.equal(500);
    expect(await storage.exists('r1')).to.equal(false);
  });
});
