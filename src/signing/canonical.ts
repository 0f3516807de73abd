/**
 * The one canonical form of a signed link's path and query, shared by the signer and the
 * verifier: both sign and check the same string, never two spellings of it.
 */

/** RFC 3986 §2.3: an escape of an unreserved character means the character itself. */
const UNRESERVED = /^[A-Za-z0-9\-._~]$/;

/** RFC 3986 §3.3 `pchar` plus the separator: what a path may hold unescaped. */
const PATH_CHAR = /^[A-Za-z0-9\-._~!$&'()*+,;=:@/]$/;

/**
 * Escapes a router or storage may read as something else than a plain character: an encoded
 * slash or backslash (a separator to some routers, a character to others), NUL and the other
 * C0 controls, DEL. No stored name holds them (`normalizeName()` refuses them), so refusing
 * them costs no legitimate link.
 */
const HOSTILE_ESCAPE = /%(?:2F|5C|[01][0-9A-F]|7F)/;

/**
 * The canonical form of a raw (still percent-encoded) URL path, or `undefined` when the path
 * is refused. Escapes of unreserved characters are decoded (`%7E` → `~`), every other escape
 * has its hex in upper case (`%c3%a9` → `%C3%A9`), and characters a path may not hold raw are
 * escaped as UTF-8. Nothing else is equated: `!` and `%21` stay different paths.
 *
 * Refused, rather than repaired, so that no two routes can share one canonical form: a path
 * not starting with `/`, a malformed escape, a `.` or `..` segment (`%2e%2e` included, once
 * decoded), an empty segment other than a trailing one (`//`), an encoded `/` or `\`, control
 * characters, and strings that are not well-formed Unicode.
 *
 * @example
 * canonicalPath('/media/%c3%a9t%C3%A9%2Etxt'); // '/media/%C3%A9t%C3%A9.txt'
 * canonicalPath('/media/%2e%2e/secret'); // undefined
 */
export function canonicalPath(raw: string): string | undefined {
  if (typeof raw !== 'string' || !raw.startsWith('/')) return undefined;
  let out = '';
  for (let at = 0; at < raw.length;) {
    const step = canonicalChar(raw, at);
    if (step === undefined) return undefined;
    out += step.text;
    at += step.length;
  }
  return hasHostileSegment(out) ? undefined : out;
}

/** The canonical spelling of the character (or escape) at `at`, and how much of `raw` it took. */
function canonicalChar(raw: string, at: number): { text: string; length: number } | undefined {
  const char = raw[at] as string;
  if (char === '%') {
    const hex = raw.slice(at + 1, at + 3);
    if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
    const decoded = String.fromCharCode(parseInt(hex, 16));
    return { text: UNRESERVED.test(decoded) ? decoded : `%${hex.toUpperCase()}`, length: 3 };
  }
  if (PATH_CHAR.test(char)) return { text: char, length: 1 };
  const whole = String.fromCodePoint(raw.codePointAt(at) as number);
  if (!whole.isWellFormed()) return undefined;
  return { text: encodeURIComponent(whole), length: whole.length };
}

function hasHostileSegment(path: string): boolean {
  if (HOSTILE_ESCAPE.test(path)) return true;
  const segments = path.split('/');
  return segments.some(
    (segment, index) =>
      segment === '.' ||
      segment === '..' ||
      (segment === '' && index !== 0 && index !== segments.length - 1),
  );
}

/**
 * Koa 2's `ctx.query` (node:querystring) keeps the first 1000 pairs and drops the rest: a query
 * longer than that is refused, or a bound value hidden past the limit would be checked here
 * and never seen by the app.
 */
export const MAX_QUERY_PAIRS = 1000;

/**
 * The pairs of a raw query string (without `?`), decoded as Koa's `ctx.query` decodes them
 * (`+` is a space); `undefined` when any part is malformed or there are more than
 * `MAX_QUERY_PAIRS`, so that the verifier and the app can never read two different values
 * from one query.
 *
 * @example
 * parseQuery('a=1&b=x+y&a=2'); // [['a', '1'], ['b', 'x y'], ['a', '2']]
 */
export function parseQuery(raw: string): [string, string][] | undefined {
  const pairs: [string, string][] = [];
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const name = decodeComponent(equals < 0 ? part : part.slice(0, equals));
    const value = decodeComponent(equals < 0 ? '' : part.slice(equals + 1));
    if (name === undefined || value === undefined) return undefined;
    pairs.push([name, value]);
  }
  return pairs.length > MAX_QUERY_PAIRS ? undefined : pairs;
}

function decodeComponent(text: string): string | undefined {
  try {
    return decodeURIComponent(text.replaceAll('+', ' '));
  } catch {
    return undefined;
  }
}

/**
 * A URL cut into the parts a signature treats differently.
 *
 * @example
 * const { origin, path } = splitUrl(url) as UrlParts;
 */
export interface UrlParts {
  /** `https://host:port`, or empty for a path-only URL. */
  readonly origin: string;
  /** The raw path, still percent-encoded. */
  readonly path: string;
  /** The raw query without `?`, or `undefined` when the URL has none. */
  readonly query: string | undefined;
  /** The fragment with its `#`, or empty. */
  readonly fragment: string;
}

const URL_PARTS = /^((?:[A-Za-z][A-Za-z0-9+.-]*:)?\/\/[^/?#]*)?([^?#]*)(?:\?([^#]*))?(#.*)?$/s;

/**
 * Cuts `url` without normalising anything (the WHATWG parser would resolve dot segments and
 * change escapes before they could be checked).
 *
 * @example
 * splitUrl('https://cdn.test/a%20b?x=1'); // { origin: 'https://cdn.test', path: '/a%20b', query: 'x=1', fragment: '' }
 */
export function splitUrl(url: string): UrlParts | undefined {
  const match = URL_PARTS.exec(url);
  if (!match) return undefined;
  return {
    origin: match[1] ?? '',
    path: match[2] ?? '',
    query: match[3],
    fragment: match[4] ?? '',
  };
}
