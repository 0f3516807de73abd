import { expect } from 'chai';
import { access } from 'node:fs/promises';
import { temporaryStorage } from '../../src/testing/index.ts';

describe('temporaryStorage()', () => {
  it('holds the given files and removes its directory on cleanup', async () => {
    const tmp = await temporaryStorage({ 'a/b.txt': 'hello', 'c.bin': Buffer.from([1, 2]) });
    expect((await tmp.storage.stat('a/b.txt')).size).to.equal(5);
    expect(await tmp.storage.exists('c.bin')).to.equal(true);
    await tmp.cleanup();
    let missing = false;
    await access(tmp.location).catch(() => (missing = true));
    expect(missing).to.equal(true);
  });

  it('passes baseUrl to the storage', async () => {
    const tmp = await temporaryStorage({}, { baseUrl: '/media/' });
    try {
      expect(await tmp.storage.url('x y.txt')).to.equal('/media/x%20y.txt');
    } finally {
      await tmp.cleanup();
    }
  });

  it('removes the directory when a file cannot be stored', async () => {
    let error: unknown;
    await temporaryStorage({ '../escape.txt': 'x' }).catch((err: unknown) => (error = err));
    expect((error as { code?: string }).code).to.equal('ERR_STORAGE_INVALID_NAME');
  });
});
