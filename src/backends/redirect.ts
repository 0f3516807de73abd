import { formatContentDisposition } from '../http/disposition.ts';
import { isFieldValue } from '../http/header-value.ts';
import { debugFor } from '../debug.ts';
import { checkOptionKeys } from '../options.ts';
import type { Backend } from './backend.ts';

const debug = debugFor('redirect');

/** Options of the redirect backend. */
export interface RedirectOptions {
  /** 302 (default) or 307 (keeps the method, for POST downloads). */
  status?: 302 | 303 | 307;
}

const STATUSES = new Set([302, 303, 307]);

/**
 * Answers with a redirect to the file's URL, so object storage or its CDN sends the bytes
 * after Koa checked permissions. Storages that sign URLs (S3) sign them with the download's
 * name and type; files without a URL are declined and streamed.
 *
 * @example
 * app.use(downloadview({ backend: redirect({ status: 307 }) }));
 */
export function redirect(options: RedirectOptions = {}): Backend {
  checkOptionKeys('redirect', options, { status: true });
  const status = options.status ?? 302;
  if (!STATUSES.has(status)) {
    throw new TypeError(`redirect option "status" must be 302, 303 or 307, got ${String(status)}`);
  }
  return {
    name: 'redirect',
    async deliver(ctx, file, offload) {
      if (!offload) return false;
      if (file.contentEncoding !== undefined) {
        // A storage URL cannot carry the variant's Content-Encoding: the client would get
        // compressed bytes it was never told about.
        debug(
          '%s is a %s variant, which a storage URL cannot label: streamed',
          file.filename,
          file.contentEncoding,
        );
        return false;
      }
      const url = await file.url({
        contentDisposition: formatContentDisposition(file.filename, file.attachment),
        contentType: file.contentType(offload.stat),
      });
      if (url === undefined || !isFieldValue(url)) {
        debug('%s has no URL to redirect to: streamed', file.filename);
        return false;
      }
      ctx.status = status;
      ctx.set('Location', url);
      ctx.set('Cache-Control', 'no-store');
      ctx.body = '';
      // The route's body was the DownloadFile, for which Koa had chosen a JSON type.
      ctx.remove('Content-Type');
      return true;
    },
  };
}
