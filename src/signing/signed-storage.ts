import type { Storage } from '../storage.ts';
import { createUrlSigner, type SignUrlOptions } from './sign.ts';

/**
 * Options of `signedUrls()`: those of `signUrl()`, checked once, at construction.
 *
 * @example
 * const options: SignedUrlsOptions = { secret: process.env.DOWNLOAD_SECRET!, expiresIn: 300 };
 */
export type SignedUrlsOptions = SignUrlOptions;

/** The optional methods passed through as they are (`url` is the one that changes). */
const PASSED_THROUGH = ['openFile', 'exists', 'save', 'delete', 'path'] as const;

/**
 * `storage` whose `url()` returns signed links (each signed when asked, so each expires
 * `expiresIn` seconds after it was handed out): the `redirect` backend then sends clients to a
 * link that a `signatureRequired()` route accepts. Everything else is the inner storage's own,
 * and a method the inner storage lacks stays absent. The drivers are not changed: any storage
 * with a `url()`, a built-in one or yours, can be wrapped.
 *
 * @example
 * const media = signedUrls(
 *   new FileSystemStorage({ location: '/srv/media', baseUrl: '/media/' }),
 *   { secret: process.env.DOWNLOAD_SECRET!, expiresIn: 300 },
 * );
 * app.use(downloadview({ backend: 'redirect' }));
 * router.get('/media/*path', signatureRequired({ secrets: [process.env.DOWNLOAD_SECRET!] }), storageDownload({ storage: media }));
 * router.get('/reports/:id', async (ctx) => { ctx.body = new StorageFile(media, 'report.pdf'); });
 */
export function signedUrls(storage: Storage, options: SignedUrlsOptions): Storage {
  if (typeof storage?.open !== 'function' || typeof storage.stat !== 'function') {
    throw new TypeError('signedUrls: the first argument must be a Storage');
  }
  const sign = createUrlSigner('signedUrls', options);
  const signed: Storage = {
    driver: storage.driver,
    stat: (name) => storage.stat(name),
    open: (name, range, openOptions) => storage.open(name, range, openOptions),
  };
  for (const method of PASSED_THROUGH) {
    const inner = storage[method] as ((...args: unknown[]) => unknown) | undefined;
    if (typeof inner === 'function') {
      Object.assign(signed, { [method]: (...args: unknown[]) => inner.apply(storage, args) });
    }
  }
  const { url } = storage;
  if (typeof url === 'function') {
    signed.url = async (name, presentation) => sign(await url.call(storage, name, presentation));
  }
  return signed;
}
