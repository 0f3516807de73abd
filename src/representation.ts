import type { Context } from 'koa';
import type { DownloadFile } from './files/download-file.ts';

/**
 * The representation of `file` to send for this request (RFC 9110 §12.5.3): a precompressed
 * variant the client accepts and the source holds, in the file's own order of preference, or
 * the file itself. Every answer of a file with variants carries `Vary: Accept-Encoding`, so a
 * cache never hands one client's encoding to another; the variant's Content-Encoding is set
 * here, before any backend, so streaming and offload send the same headers.
 *
 * @example
 * const sent = await chooseRepresentation(ctx, file); // report.csv.br for Accept-Encoding: br
 */
export async function chooseRepresentation(
  ctx: Context,
  file: DownloadFile,
): Promise<DownloadFile> {
  const encodings = file.encodings;
  if (encodings.length === 0) return file;
  ctx.vary('Accept-Encoding');
  for (const encoding of encodings) {
    // acceptsEncodings() honours q-values, `*` and `identity;q=0` (Koa's own negotiation).
    if (ctx.acceptsEncodings(encoding) !== encoding) continue;
    const variant = await file.variant(encoding);
    if (variant === undefined) continue;
    ctx.set('Content-Encoding', encoding);
    return variant;
  }
  return file;
}

/**
 * Whether this request's Range must be answered by the app, not by a proxy, and how:
 * - `'whole'`: a file with precompressed variants resumed with a date in If-Range. Variants
 *   share their original's Last-Modified (gzip -k keeps it), so a date cannot tell which
 *   encoding the client holds: the Range is ignored and the whole representation sent (RFC
 *   9110 §13.1.5 lets a server ignore it), never a splice of two encodings.
 * - `'stream'`: more ranges than `maxRanges`; proxies have limits of their own (or none), so the
 *   app's streaming answers it (with the whole file), as it would with no proxy.
 * - `undefined`: a proxy may answer it.
 *
 * @example
 * rangeForTheApp(ctx, file, 16); // 'whole' for Range + If-Range: <date> on a precompressed route
 */
export function rangeForTheApp(
  ctx: Context,
  file: DownloadFile,
  maxRanges: number,
): 'whole' | 'stream' | undefined {
  const range = ctx.get('Range');
  if (range === '') return undefined;
  const ifRange = ctx.get('If-Range').trim();
  if (file.encodings.length > 0 && ifRange !== '' && !/^(?:W\/)?"/.test(ifRange)) return 'whole';
  return range.split(',').length > maxRanges ? 'stream' : undefined;
}
