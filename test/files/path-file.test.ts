import { expect } from 'chai';
import { join } from 'node:path';
import { PathFile } from '../../src/index.ts';
import type { FileSystemStorage } from '../../storages/filesystem.ts';
import { tempTree } from '../support/fixtures.ts';

describe('PathFile', () => {
  it('shares one storage per root, so the root is not resolved again per request', async () => {
    const tree = await tempTree({ 'a.txt': 'a', 'b.txt': 'bb' });
    try {
      const a = new PathFile('a.txt', { root: tree.dir });
      const b = new PathFile(join(tree.dir, 'b.txt'), { root: join(tree.dir, '.') });
      expect(a.storage).to.equal(b.storage);
      expect([(await a.stat()).size, (await b.stat()).size]).to.deep.equal([1, 2]);
      expect(new PathFile('/etc/hostname').storage).to.equal(new PathFile('/tmp/x').storage);
    } finally {
      await tree.cleanup();
    }
  });

  it('keeps a bounded number of roots: roots made per request do not grow without end', () => {
    const first = new PathFile('a.txt', { root: '/kdv-root-0' });
    for (let i = 1; i <= 100; i++) void new PathFile('a.txt', { root: `/kdv-root-${i}` });
    // The oldest root was let go; a request under it gets a storage of its own again.
    expect(new PathFile('a.txt', { root: '/kdv-root-0' }).storage).not.to.equal(first.storage);
    const kept = new PathFile('b.txt', { root: '/kdv-root-100' }).storage as FileSystemStorage;
    expect(kept.location).to.equal('/kdv-root-100');
  });

  it('refuses a root that is not a non-empty string with the storage TypeError', () => {
    expect(() => new PathFile('a.txt', { root: '' })).to.throw(TypeError, /location/);
    expect(() => new PathFile('a.txt', { root: 7 as never })).to.throw(TypeError, /location/);
  });
});
