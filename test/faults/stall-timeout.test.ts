import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { downloadview, StorageFile, streaming, VirtualFile } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { randomFile, tempTree } from '../support/fixtures.ts';
import { openDescriptorCount } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { download, outcomeOf, settle, theOneErrorCode } from './support/outcome.ts';

const STALL_MS = 300;

/** Chunks of `chunk` bytes, `count` of them, each after `everyMs`; then nothing, if `stall`. */
async function* paced(chunk: Buffer, count: number, everyMs: number, stall = false) {
  for (let i = 0; i < count; i++) {
    await sleep(everyMs);
    yield chunk;
  }
  if (stall) await new Promise(() => {});
}

describe('stallTimeout: how long a download may wait for its source', function () {
  this.timeout(20_000);

  for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, '300']) {
    it(`refuses stallTimeout ${typeof bad === 'string' ? `'${bad}'` : bad} at startup, naming the option`, () => {
      const options = { stallTimeout: bad as number };
      expect(() => downloadview(options)).to.throw(TypeError, /stallTimeout/);
      expect(() => streaming(options)).to.throw(TypeError, /stallTimeout/);
    });
  }

  describe(`with stallTimeout ${STALL_MS} ms`, () => {
    let server: TestServer;
    let file: Buffer;
    let source: () => VirtualFile | StorageFile;
    before(async () => {
      file = randomFile(8 * 1024 * 1024);
      const { dir } = await tempTree({ 'big.bin': file });
      const storage = new FileSystemStorage({ location: dir });
      server = await serve(downloadview({ stallTimeout: STALL_MS }), (ctx) => {
        ctx.body = source();
      });
      source = () => new StorageFile(storage, 'big.bin');
    });
    after(() => server?.close());
    afterEach(() => {
      server.errors.length = 0;
    });

    it('lets a client that reads nothing for 5 × the timeout have the whole file', async () => {
      const baseline = await openDescriptorCount();
      const wire = await download(server.url, '/big.bin', {
        slowly: () => sleep(STALL_MS * 5),
      });
      expect(outcomeOf(wire, file)).to.deep.equal({ kind: 'complete', status: 200 });
      await settle(baseline);
      expect(server.errors).to.deep.equal([]);
    });

    it('lets a generator that is slow but steady (a chunk every 2/3 of it) finish', async () => {
      const chunk = randomFile(1024);
      source = () =>
        new VirtualFile(paced(chunk, 6, (STALL_MS * 2) / 3), { name: 'slow.bin', size: 6 * 1024 });
      const wire = await download(server.url, '/slow.bin');
      expect(outcomeOf(wire, Buffer.concat(Array(6).fill(chunk)))).to.deep.equal({
        kind: 'complete',
        status: 200,
      });
      expect(server.errors).to.deep.equal([]);
    });

    it('cuts a generator that stops giving bytes after the headers, within 1.5 × the timeout', async () => {
      const chunk = randomFile(1024);
      source = () => new VirtualFile(paced(chunk, 2, 10, true), { name: 'stuck.bin', size: 8192 });
      const wire = await download(server.url, '/stuck.bin');
      expect(outcomeOf(wire, Buffer.alloc(0))).to.deep.equal({ kind: 'aborted', bytes: 2048 });
      expect(wire.ms).to.be.within(STALL_MS, STALL_MS * 1.5 + 1000);
      expect(theOneErrorCode(server)).to.equal('ERR_STORAGE_STALLED');
    });

    it('answers 504 to a generator that gives no first byte', async () => {
      source = () =>
        new VirtualFile(paced(Buffer.alloc(1), 0, 0, true), { name: 'never.bin', size: 1 });
      const wire = await download(server.url, '/never.bin');
      expect(outcomeOf(wire, Buffer.alloc(0))).to.deep.equal({ kind: 'refused', status: 504 });
      expect(theOneErrorCode(server)).to.equal('ERR_STORAGE_STALLED');
    });
  });
});
