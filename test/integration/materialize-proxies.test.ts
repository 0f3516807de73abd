import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as tick } from 'node:timers/promises';
import { VirtualFile, type OpenedFile, type OpenFileOptions } from '../../src/index.ts';
import { METADATA_SUFFIX } from '../../src/materialize/metadata.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { request } from '../support/http.ts';
import { gate, materializingApp, type MaterializingApp } from '../materialize/support.ts';
import { offloadByUrl, PROXY_KINDS } from './support/offload-setups.ts';
import { requireBinary } from './support/require-binary.ts';
import { startProxy, type RunningProxy } from './support/proxies.ts';

// materialize() behind each real proxy, configured from docs/proxies/: the stored copy is
// offloaded on every request, the first included, and concurrent first clients share one
// generation. The app never reads the copy's bytes (the spy counts its reads): the proxy did.
// test/integration/materialize-nginx.test.ts covers nginx in more depth.

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const REPORT = randomBytes(512 * 1024 + 3);

class ReadCountingStorage extends FileSystemStorage {
  copyReads = 0;
  override async openFile(name: string, options?: OpenFileOptions): Promise<OpenedFile> {
    if (!name.endsWith(METADATA_SUFFIX)) this.copyReads++;
    return super.openFile(name, options);
  }
}

async function* chunks(before: Promise<void>): AsyncGenerator<Buffer> {
  await before;
  for (let at = 0; at < REPORT.length; at += 64 * 1024) {
    yield REPORT.subarray(at, at + 64 * 1024);
    await tick();
  }
}

for (const kind of PROXY_KINDS) {
  describe(`materialize() behind real ${kind} (docs/proxies/)`, function () {
    let filesDir: string;
    let storage: ReadCountingStorage;
    let app: MaterializingApp | undefined;
    let proxy: RunningProxy | undefined;
    let release: Promise<void> = Promise.resolve();

    before(async function () {
      requireBinary(this, kind);
      filesDir = await mkdtemp(join(tmpdir(), `kdv-materialize-${kind}-`));
      // The proxy's workers may run unprivileged: the directory must be searchable by them.
      await chmod(filesDir, 0o755);
      storage = new ReadCountingStorage({ location: filesDir, baseUrl: '/cache/' });
      const { backend, rule } = offloadByUrl(kind, filesDir, '/cache/');
      app = await materializingApp(
        storage,
        () => new VirtualFile(chunks(release), { name: 'Q3 report.bin', contentType: 'text/csv' }),
        { downloadview: { backend, rules: [rule] } },
      );
      proxy = await startProxy(kind, { upstreamPort: Number(new URL(app.url).port), filesDir });
    });
    after(async () => {
      await proxy?.stop();
      await app?.close();
      if (filesDir) await rm(filesDir, { recursive: true, force: true });
    });

    it('6 concurrent first clients, then one more: one generation, every body sent by the proxy', async function () {
      const allArrived = gate();
      release = allArrived.opened;
      const answers = Array.from({ length: 6 }, () => request(`${proxy!.url}/report/r1`));
      while (app!.arrivals < 6) await tick();
      allArrived.open();
      const results = [...(await Promise.all(answers)), await request(`${proxy!.url}/report/r1`)];
      for (const res of results) {
        expect([res.status, res.aborted]).to.deep.equal([200, false]);
        expect(sha256(res.body)).to.equal(sha256(REPORT));
        expect(res.headers['content-disposition']).to.equal('attachment; filename="Q3 report.bin"');
        expect(res.headers['x-accel-redirect'] ?? res.headers['x-sendfile']).to.equal(undefined);
      }
      expect(app!.generations).to.equal(1);
      expect(storage.copyReads).to.equal(0);
    });
  });
}
