/**
 * A map that keeps at most `limit` entries, dropping the least recently used one first. The
 * library's caches (content hashes, formatted headers, storages per root) are keyed by values
 * that may come from requests; each must stay bounded whatever the traffic. Hand-written
 * because a Map's insertion order already is the recency order: no package earns its weight.
 *
 * @example
 * const cache = new BoundedCache<string, string>(2);
 * cache.set('a', '1');
 * cache.get('a'); // '1'
 */
export class BoundedCache<K, V> {
  readonly #entries = new Map<K, V>();
  /** The key moved to the end of the order last. */
  #newest: K | undefined;

  constructor(readonly limit: number) {
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new TypeError(`BoundedCache limit must be a positive integer, got ${limit}`);
    }
  }

  get size(): number {
    return this.#entries.size;
  }

  get(key: K): V | undefined {
    const value = this.#entries.get(key);
    // The entry used last needs no move: a hot key (one file asked for again and again) then
    // costs one lookup, not three.
    if (value !== undefined && key !== this.#newest) {
      this.#newest = key;
      // Re-inserted, so the Map's order stays least recently used first.
      this.#entries.delete(key);
      this.#entries.set(key, value);
    }
    return value;
  }

  set(key: K, value: V): void {
    this.#entries.delete(key);
    if (this.#entries.size >= this.limit) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
    this.#entries.set(key, value);
    this.#newest = key;
  }
}
