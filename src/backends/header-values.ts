/**
 * How each proxy reads an offload header's value (measured against the real servers):
 * nginx and lighttpd percent-decode it, Apache's mod_xsendfile and Caddy take the bytes as
 * they are. Node writes header strings as latin1, so raw UTF-8 must be passed as a "binary"
 * string of its bytes, or `é` would arrive as the single byte 0xE9.
 */

/** CR, LF and NUL end or split a header; a value holding one is never emitted. */
const UNSAFE_IN_HEADER = /[\r\n\0]/;

/** Percent-encodes each `/`-separated segment, keeping the separators. */
export function percentEncodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** The UTF-8 bytes of `value` as a latin1 string, which Node writes byte for byte. */
export function rawUtf8(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1');
}

/** Whether `value` can be carried in a header without ending or splitting it. */
export function isHeaderSafe(value: string): boolean {
  return !UNSAFE_IN_HEADER.test(value);
}
