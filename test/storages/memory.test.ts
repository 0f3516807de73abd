import { expect } from 'chai';
import { buffer } from 'node:stream/consumers';
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

  it('openFile keeps the version it opened when the name is saved again', async () => {
    const storage = new MemoryStorage({ files: { 'a.txt': 'first' } });
    const opened = await storage.openFile('a.txt');
    const streamed = await storage.openFile('a.txt');
    await storage.save('a.txt', 'second version');
    expect(opened.stat.size).to.equal(5);
    expect((await opened.read()).toString()).to.equal('first');
    expect((await buffer(await streamed.stream({ start: 1, end: 3 }))).toString()).to.equal('irs');
    expect((await (await storage.openFile('a.txt')).read()).toString()).to.equal('second version');
  });

  it('refuses invalid options', () => {
    expect(() => new MemoryStorage({ baseUrl: '' })).to.throw(TypeError, /baseUrl/);
    expect(() => new MemoryStorage({ files: null as never })).to.throw(TypeError, /files/);
  });

  it('throws a TypeError naming an unknown option and the known ones', () => {
    expect(() => new MemoryStorage({ baseurl: '/x' } as never)).to.throw(
      TypeError,
      /MemoryStorage: unknown option "baseurl"; known options: baseUrl, files/,
    );
  });
});
