import contentDisposition from 'content-disposition';
import { BoundedCache } from '../bounded-cache.ts';

/** Control characters (C0, DEL, C1) never belong in a file name shown to a user. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f-\u009f]/g;

/**
 * Content-Disposition for a download (RFC 6266): an ASCII `filename=` fallback plus RFC 8187
 * `filename*` for names outside ISO-8859-1, built by `content-disposition`, which quotes and
 * escapes. Inline files keep `filename=` so the browser still knows the name. Directory parts
 * (up to the last `/` or `\`, as browsers read them) are dropped and control characters replaced, so the value can never break the header;
 * a name over `MAX_FILENAME_BYTES` is shortened, its extension kept.
 *
 * @example
 * formatContentDisposition('résumé.pdf', true);
 * // attachment; filename="resume.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf
 */
export function formatContentDisposition(filename: string, attachment: boolean): string {
  const key = (attachment ? 'a' : 'i') + filename;
  let value = formatted.get(key);
  if (value === undefined) {
    const name = cleanName(filename);
    const type = attachment ? 'attachment' : 'inline';
    value = contentDisposition(name, { type, fallback: asciiFallback(name) });
    formatted.set(key, value);
  }
  return value;
}

/**
 * Values already formatted, by disposition and name: the same files are downloaded again and
 * again, and formatting (Unicode normalisation, quoting, percent-encoding) was about a tenth of
 * the library's own work on a small download. Bounded: names come from requests.
 */
const formatted = new BoundedCache<string, string>(1000);

/**
 * An ASCII `filename=` for non-ASCII names (accents dropped, the rest `_`), so that `filename*`
 * carries the real name: a raw ISO-8859-1 `filename=` is valid, but clients and S3-compatible
 * servers read it inconsistently.
 */
function asciiFallback(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^\x20-\x7e]/g, '_');
}

function cleanName(filename: string): string {
  const base = filename.split(/[/\\]/).pop() ?? '';
  const clean = base.replace(CONTROL_CHARACTERS, '_').toWellFormed();
  return clean.trim() === '' ? 'download' : shortened(clean);
}

/**
 * The longest name a download is given, in UTF-8 bytes: what filesystems store in one name, so
 * no client could save a longer one anyway.
 */
export const MAX_FILENAME_BYTES = 255;

/** The longest extension kept whole when a name is shortened (`.tar.gz` is `.gz` here). */
const MAX_KEPT_EXTENSION = 16;

/**
 * `name` cut to `MAX_FILENAME_BYTES`, keeping its extension. A name taken from a request or a
 * record (64 KiB, say) would otherwise make Content-Disposition longer than the response header
 * a proxy accepts from the app (Apache and lighttpd: 8 KiB, nginx: 4 KiB by default), and the
 * proxy answers 502 instead of the file. Cut by code points, so no character is split.
 */
function shortened(name: string): string {
  if (Buffer.byteLength(name) <= MAX_FILENAME_BYTES) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && name.length - dot <= MAX_KEPT_EXTENSION ? name.slice(dot) : '';
  let budget = MAX_FILENAME_BYTES - Buffer.byteLength(extension);
  let kept = '';
  for (const character of name.slice(0, name.length - extension.length)) {
    budget -= Buffer.byteLength(character);
    if (budget < 0) break;
    kept += character;
  }
  return kept + extension;
}
