import { expect } from 'chai';
import { StorageChangedError } from '../../src/errors.ts';
import { describeStorageContract } from '../../src/testing/storage-contract.ts';
import { MemoryStorage } from '../../storages/memory.ts';

describeStorageContract(
  'MemoryStorage',
  (fixtures) => new MemoryStorage({ files: fixtures, baseUrl: '/m/' }),
);

describe('MemoryStorage', () => {
  it('gives each content a strong ETag that changes when the content does', async () => {
    const storage = new MemoryStorage({ files: { 'a.txt': 'one' } });
    const before = (await storage.stat('a.txt')).etag;
    await storage.save('a.txt', 'two');
    expect(before).to.match(/^"[^"]+"$/);
    expect((await storage.stat('a.txt')).etag).to.not.equal(before);
  });

  it('reads a read pinned to the current ETag, and refuses one pinned to an old ETag', async () => {
    const storage = new MemoryStorage({ files: { 'a.txt': 'one' } });
    const old = (await storage.stat('a.txt')).etag;
    const pinned = await storage.open('a.txt', undefined, { ifMatch: old });
    expect((await pinned.toArray()).join('')).to.equal('one');
    await storage.save('a.txt', 'two');
    const failure = await storage.open('a.txt', undefined, { ifMatch: old }).catch((e) => e);
    expect(failure).to.be.instanceOf(StorageChangedError);
  });

  it('refuses invalid options', () => {
    expect(() => new MemoryStorage({ baseUrl: '' })).to.throw(TypeError, /baseUrl/);
    expect(() => new MemoryStorage({ files: null as never })).to.throw(TypeError, /files/);
  });
});
