import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { VirtualFile } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { tempTree } from '../support/fixtures.ts';
import { request } from '../support/http.ts';
import { gate, listFiles, materializingApp, type Gate, type MaterializingApp } from './support.ts';

// Several app instances sharing one storage directory. Each app here has its own storage
// object, so its own single-flight table, as separate processes would: they may each generate
// the copy (duplicated work), but no client ever gets a part of one.

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const REPORT = randomBytes(256 * 1024);

/** Sends half the report, waits for `rest`, then sends the other half. */
async function* halves(rest: Promise<void>): AsyncGenerator<Buffer> {
  yield REPORT.subarray(0, REPORT.length / 2);
  await rest;
  yield REPORT.subarray(REPORT.length / 2);
}

describe('materialize() by several instances sharing a FileSystemStorage directory', function () {
  let dir: string;
  let cleanup: () => Promise<void>;
  const apps: MaterializingApp[] = [];
  beforeEach(async () => ({ dir, cleanup } = await tempTree({})));
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
    await cleanup();
  });

  async function instance(rest: Gate): Promise<MaterializingApp> {
    const storage = new FileSystemStorage({ location: dir });
    const app = await materializingApp(
      storage,
      () => new VirtualFile(halves(rest.opened), { name: 'r.bin' }),
    );
    apps.push(app);
    return app;
  }

  async function temporaries(count: number): Promise<void> {
    while ((await listFiles(dir)).filter((name) => name.endsWith('.tmp')).length < count) {
      await tick();
    }
  }

  it('two generate at once: duplicated work, whole copies; a third reuses the first one done', async function () {
    const [restA, restB] = [gate(), gate()];
    const [a, b] = [await instance(restA), await instance(restB)];
    const fromA = request(`${a.url}/report/r1`);
    const fromB = request(`${b.url}/report/r1`);
    // Both copies are half written, each under its own temporary name.
    await temporaries(2);
    expect((await listFiles(dir)).filter((name) => !name.endsWith('.tmp'))).to.deep.equal([]);
    restA.open();
    const first = await fromA;
    // B is still writing; a third instance finds A's complete copy and does not generate.
    const c = await instance(gate());
    const third = await request(`${c.url}/report/r1`);
    restB.open();
    const second = await fromB;
    for (const res of [first, second, third]) {
      expect(res.status).to.equal(200);
      expect(sha256(res.body)).to.equal(sha256(REPORT));
    }
    expect([a.generations, b.generations, c.generations]).to.deep.equal([1, 1, 0]);
    expect(await listFiles(dir)).to.deep.equal(['r1', 'r1.materialized.json']);
  });
});
