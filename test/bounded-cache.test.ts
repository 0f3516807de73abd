import { expect } from 'chai';
import { BoundedCache } from '../src/bounded-cache.ts';

describe('BoundedCache', () => {
  it('keeps at most `limit` entries, dropping the least recently used first', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).to.equal(1); // 'a' is now the most recent
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c'), cache.size]).to.deep.equal([
      1,
      undefined,
      3,
      2,
    ]);
  });

  it('replacing a key does not evict another one', () => {
    const cache = new BoundedCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    cache.set('a', 10);
    expect([cache.get('a'), cache.get('b'), cache.size]).to.deep.equal([10, 2, 2]);
  });

  it('stays bounded under 100,000 distinct keys', () => {
    const cache = new BoundedCache<number, number>(1000);
    for (let i = 0; i < 100_000; i++) cache.set(i, i);
    expect(cache.size).to.equal(1000);
    expect([cache.get(98_999), cache.get(99_000), cache.get(99_999)]).to.deep.equal([
      undefined,
      99_000,
      99_999,
    ]);
  });

  for (const limit of [0, -1, 1.5, Number.NaN]) {
    it(`refuses the limit ${limit}`, () => {
      expect(() => new BoundedCache(limit)).to.throw(TypeError, /positive integer/);
    });
  }
});
