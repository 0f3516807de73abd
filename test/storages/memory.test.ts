import { expect } from 'chai';
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

  it('refuses invalid options', () => {
    expect(() => new MemoryStorage({ baseUrl: '' })).to.throw(TypeError, /baseUrl/);
    expect(() => new MemoryStorage({ files: null as never })).to.throw(TypeError, /files/);
  });
});
