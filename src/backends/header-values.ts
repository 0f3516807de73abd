import { isFieldValue, isPlainText } from '../http/header-value.ts';
import { encodeNameForUrl } from '../names.ts';

/**
 * How each proxy reads an offload header's value (measured against the real servers):
 * nginx and lighttpd percent-decode it, Apache's mod_xsendfile and Caddy take the bytes as
 * they are. Node writes header strings as latin1, so raw UTF-8 must be passed as a "binary"
 * string of its bytes, or `é` would arrive as the single byte 0xE9.
 */
export type PathEncoding = 'percent' | 'raw';

/**
 * The header value naming `path` for a server that reads it with `encoding`, or `undefined`
 * when no value can name it safely (a control character in it): such a file is declined and
 * streamed by Koa, by every backend alike. The check is on the path itself, before encoding:
 * percent-encoded, a CR or LF would always pass.
 *
 * @example
 * offloadPath('/protected/a b.txt', 'percent'); // '/protected/a%20b.txt'
 */
export function offloadPath(path: string, encoding: PathEncoding): string | undefined {
  // A lone surrogate has no UTF-8 bytes and no percent-encoding (encodeURIComponent throws):
  // no value can name it, so the file is declined, not failed with a 500.
  if (!isPlainText(path) || !path.isWellFormed()) return undefined;
  // Raw, a leading or trailing space would be trimmed by the server's header parser (as HTTP
  // requires), and the value would name another file: `victim.txt ` would send `victim.txt`.
  if (encoding === 'raw' && /^[ \t]|[ \t]$/.test(path)) return undefined;
  const value = encoding === 'percent' ? encodeNameForUrl(path) : rawUtf8(path);
  return isFieldValue(value) ? value : undefined;
}

/** The UTF-8 bytes of `value` as a latin1 string, which Node writes byte for byte. */
function rawUtf8(value: string): string {
  return Buffer.from(value, 'utf8').toString('latin1');
}
