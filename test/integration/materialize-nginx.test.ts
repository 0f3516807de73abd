import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { nginx, VirtualFile, type OpenedFile, type OpenFileOptions } from '../../src/index.ts';
import { METADATA_SUFFIX } from '../../src/materialize/metadata.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { request } from '../support/http.ts';
import {
  gate,
  listFiles,
  materializingApp,
  type MaterializingApp,
} from '../materialize/support.ts';
import { requireBinary } from './support/require-binary.ts';
import { startProxy, type RunningProxy } from './support/proxies.ts';

// materialize() behind the real nginx, configured from docs/proxies/nginx.conf: the copy is
// written into the directory nginx's internal /protected/ location serves, and the app answers
// X-Accel-Redirect for it. Every request is offloaded, the first one included: materialize()
// resolves only once the copy is complete, so there is never a partial file to hand over and
// one code path serves every request. The proof that nginx sent the bytes is that the app
// never opened the stored copy (the spy below counts its reads), while the clients got them.

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const REPORT = randomBytes(1024 * 1024 + 7);

/** A filesystem storage that counts the reads of stored copies (not of their metadata). */
class ReadCountingStorage extends FileSystemStorage {
  copyReads = 0;
  override async openFile(name: string, options?: OpenFileOptions): Promise<OpenedFile> {
    if (!name.endsWith(METADATA_SUFFIX)) this.copyReads++;
    return super.openFile(name, options);
  }
}

async function* chunks(before?: Promise<void>): AsyncGenerator<Buffer> {
  await before;
  for (let at = 0; at < REPORT.length; at += 64 * 1024) {
    yield REPORT.subarray(at, at + 64 * 1024);
    await tick();
  }
}

describe('materialize() behind real nginx (docs/proxies/nginx.conf)', function () {
  let filesDir: string;
  let storage: ReadCountingStorage;
  let app: MaterializingApp | undefined;
  let proxy: RunningProxy | undefined;
  let fail = false;
  let release: Promise<void> | undefined;

  before(async function () {
    requireBinary(this, 'nginx');
  });
  beforeEach(async () => {
    filesDir = await mkdtemp(join(tmpdir(), 'kdv-materialize-'));
    // nginx's workers run unprivileged: the files directory must be searchable by them.
    await chmod(filesDir, 0o755);
    storage = new ReadCountingStorage({ location: filesDir, baseUrl: '/cache/' });
    fail = false;
    release = undefined;
    app = await materializingApp(
      storage,
      () => {
        if (fail) {
          return new VirtualFile(
            (async function* () {
              yield REPORT.subarray(0, 1000);
              throw new Error('generation failed');
            })(),
            { name: 'broken.bin' },
          );
        }
        return new VirtualFile(chunks(release), { name: 'Q3 report.bin', contentType: 'text/csv' });
      },
      {
        downloadview: {
          backend: nginx(),
          rules: [{ sourceUrl: '/cache/', destinationUrl: '/protected/' }],
        },
      },
    );
    const port = Number(new URL(app.url).port);
    proxy = await startProxy('nginx', { upstreamPort: port, filesDir });
  });
  afterEach(async () => {
    await proxy?.stop();
    await app?.close();
    await rm(filesDir, { recursive: true, force: true });
  });

  const key = encodeURIComponent('reports/2026 Q3 #1.bin');

  it('the first and the second request are both sent by nginx; one generation', async function () {
    for (let i = 0; i < 2; i++) {
      const res = await request(`${proxy!.url}/report/${key}`);
      expect(res.status).to.equal(200);
      expect(sha256(res.body)).to.equal(sha256(REPORT));
      expect(res.headers['content-type']).to.equal('text/csv');
      expect(res.headers['content-disposition']).to.equal('attachment; filename="Q3 report.bin"');
      expect(res.headers['x-accel-redirect']).to.equal(undefined);
    }
    expect(app!.generations).to.equal(1);
    expect(storage.copyReads).to.equal(0);
    // Asked directly, the app answers an empty body and the header nginx acted on.
    const direct = await request(`${app!.url}/report/${key}`);
    expect(direct.body.length).to.equal(0);
    expect(direct.headers['x-accel-redirect']).to.equal('/protected/reports/2026%20Q3%20%231.bin');
  });

  it('nginx answers ranges of the stored copy', async function () {
    const res = await request(`${proxy!.url}/report/${key}`, {
      headers: { Range: 'bytes=1000-1999' },
    });
    expect(res.status).to.equal(206);
    expect(res.body.equals(REPORT.subarray(1000, 2000))).to.equal(true);
    expect(storage.copyReads).to.equal(0);
  });

  it('8 concurrent first clients through nginx: one generation, identical intact bytes', async function () {
    const allArrived = gate();
    release = allArrived.opened;
    const answers = Array.from({ length: 8 }, () => request(`${proxy!.url}/report/${key}`));
    while (app!.arrivals < 8) await tick();
    allArrived.open();
    const results = await Promise.all(answers);
    expect(results.map((r) => [r.status, r.aborted])).to.deep.equal(Array(8).fill([200, false]));
    expect(new Set(results.map((r) => sha256(r.body)))).to.deep.equal(new Set([sha256(REPORT)]));
    expect(app!.generations).to.equal(1);
    expect(storage.copyReads).to.equal(0);
  });

  it('a failed generation: 500 through nginx, and nothing in the files directory', async function () {
    fail = true;
    const res = await request(`${proxy!.url}/report/${key}`);
    expect(res.status).to.equal(500);
    expect(await listFiles(filesDir)).to.deep.equal([]);
  });
});
