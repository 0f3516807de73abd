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
