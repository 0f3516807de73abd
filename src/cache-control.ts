import type { OptionKeys } from './options.ts';

/**
 * Browser caching of a route's downloads, as koa-send and Express give it: `maxAge` in
 * milliseconds and `immutable`. The answer is `private` unless `public: true`, because a
 * download usually passed a permission check that a shared cache would not repeat.
 */
export interface CacheOptions {
  /** How long the browser may reuse the download without asking, in milliseconds. */
  maxAge?: number;
  /** Adds `immutable`: the file under this URL never changes (names that carry a hash). */
  immutable?: boolean;
  /** Lets shared caches (CDNs, proxies) keep it too: only for files anyone may fetch. */
  public?: boolean;
}

export const CACHE_OPTION_KEYS: OptionKeys<CacheOptions> = {
  maxAge: true,
  immutable: true,
  public: true,
};

/**
 * The Cache-Control value for `options`, checked once at set-up; `undefined` when no option
 * asks for caching, so the app's own header (or none) stays.
 *
 * @example
 * cacheControl('storageDownload', { maxAge: 86_400_000, immutable: true });
 * // 'private, max-age=86400, immutable'
 */
export function cacheControl(owner: string, options: CacheOptions): string | undefined {
  const { maxAge, immutable, public: shared } = options;
  if (maxAge === undefined) {
    if (immutable !== undefined || shared !== undefined) {
      throw new TypeError(`${owner} options "immutable" and "public" need "maxAge"`);
    }
    return undefined;
  }
  if (typeof maxAge !== 'number' || !Number.isFinite(maxAge) || maxAge < 0) {
    throw new TypeError(
      `${owner} option "maxAge" must be a non-negative number of milliseconds, got ${String(maxAge)}`,
    );
  }
  for (const [name, value] of [
    ['immutable', immutable],
    ['public', shared],
  ] as const) {
    if (value !== undefined && typeof value !== 'boolean') {
      throw new TypeError(`${owner} option "${name}" must be true or false, got ${String(value)}`);
    }
  }
  const directives = [shared ? 'public' : 'private', `max-age=${Math.floor(maxAge / 1000)}`];
  if (immutable) directives.push('immutable');
  return directives.join(', ');
}

/**
 * A route helper's options split into its Cache-Control value (checked now) and the rest.
 *
 * @example
 * const { cache, rest } = takeCacheOptions('storageDownload', options);
 */
export function takeCacheOptions<T extends CacheOptions>(
  owner: string,
  options: T,
): { cache: string | undefined; rest: Omit<T, keyof CacheOptions> } {
  const { maxAge, immutable, public: shared, ...rest } = options;
  return { cache: cacheControl(owner, { maxAge, immutable, public: shared }), rest };
}
