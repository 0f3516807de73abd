import { checkOptionKeys, type OptionKeys } from '../options.ts';
import { canonicalPath, parseQuery, splitUrl } from './canonical.ts';
import {
  boundValues,
  BOUND_METHOD,
  BOUND_NAME,
  formatToken,
  macOf,
  SIGNATURE_PARAM,
  signedString,
  type SignatureFields,
} from './format.ts';
import { signingKey, type SigningKey, type SigningSecret } from './secrets.ts';

/**
 * What a signed link covers beyond its path.
 *
 * @example
 * signUrl('/exports/42.csv?user=7', { secret, expiresIn: 60, bind: { method: 'GET', query: ['user'] } });
 */
export interface SignBinding {
  /**
   * The request method the link is good for, upper case (`'GET'`; a `GET` link also serves
   * `HEAD`). Without it, any method.
   */
  method?: string;
  /**
   * Query parameters whose values (every occurrence, in order) are signed: changing, adding or
   * removing one breaks the link. A bound name absent from the URL must stay absent. Names are
   * letters, digits, `_` and `-`. Other parameters are not covered.
   */
  query?: readonly string[];
}

/**
 * Options of `signUrl()` and of `signedUrls()`.
 *
 * @example
 * const options: SignUrlOptions = { secret: process.env.DOWNLOAD_SECRET!, expiresIn: 300 };
 */
export interface SignUrlOptions {
  /** The secret, at least 32 bytes; verifiers list it in `signatureRequired({ secrets })`. */
  secret: SigningSecret;
  /** Seconds the link stays valid, a positive integer. */
  expiresIn: number;
  /** Query parameters or the method the signature also covers. */
  bind?: SignBinding;
  /** The link is refused before this time (signed into it). Default: valid at once. */
  notBefore?: Date;
  /** The time the link is signed at, from which `expiresIn` counts. Default: now. */
  now?: Date;
}

const SIGN_OPTION_KEYS: OptionKeys<SignUrlOptions> = {
  secret: true,
  expiresIn: true,
  bind: true,
  notBefore: true,
  now: true,
};

/** Links are refused past this date: the format keeps times on 12 digits. */
const LAST_SECOND = 999_999_999_999;

/**
 * A function that signs URLs, with options checked once.
 *
 * @example
 * const sign: UrlSigner = createUrlSigner('mySigner', { secret, expiresIn: 60 });
 */
export type UrlSigner = (url: string) => string;

/**
 * Checks signing options once and returns the function that signs with them.
 *
 * @example
 * const sign = createUrlSigner('signedUrls', { secret, expiresIn: 300 });
 * sign('/media/a.txt');
 */
export function createUrlSigner(where: string, options: SignUrlOptions): UrlSigner {
  checkOptionKeys(where, options, SIGN_OPTION_KEYS);
  const key = signingKey(`${where} option "secret"`, options?.secret);
  const { expiresIn, now, notBefore } = options;
  if (!Number.isSafeInteger(expiresIn) || expiresIn <= 0) {
    throw new TypeError(`${where} option "expiresIn" must be a positive integer of seconds`);
  }
  checkDate(where, 'now', now);
  checkDate(where, 'notBefore', notBefore);
  const binding = checkBinding(where, options.bind);
  return (url) => {
    const signedAt = Math.floor((now ?? new Date()).getTime() / 1000);
    const expires = signedAt + expiresIn;
    const from = notBefore === undefined ? undefined : Math.floor(notBefore.getTime() / 1000);
    if (expires > LAST_SECOND || (from !== undefined && (from < 0 || from >= expires))) {
      throw new RangeError(
        `${where}: the link would never be valid (notBefore after its expiry, or too far out)`,
      );
    }
    return signWith(where, url, key, {
      keyId: key.id,
      expires: String(expires),
      notBefore: from === undefined ? '' : String(from),
      ...binding,
    });
  };
}

/**
 * A signed copy of `url` (absolute, or a path starting with `/`): the `sig` parameter appended
 * to its query covers the canonical path, the expiry and what `bind` names. The origin is not
 * covered, and the path is written in its canonical form (`%7e` → `~`, hex in upper case).
 * Throws a `TypeError` for a path `signatureRequired()` would refuse (dot segments, `//`,
 * encoded slashes) or a URL that already has a `sig` parameter.
 *
 * @example
 * const link = signUrl('https://files.example.com/media/report.pdf', {
 *   secret: process.env.DOWNLOAD_SECRET!,
 *   expiresIn: 600,
 *   bind: { method: 'GET' },
 * });
 * // https://files.example.com/media/report.pdf?sig=v1.<key id>.<expires>..GET..<mac>
 */
export function signUrl(url: string, options: SignUrlOptions): string {
  return createUrlSigner('signUrl', options)(url);
}

function signWith(where: string, url: string, key: SigningKey, fields: SignatureFields): string {
  const parts = typeof url === 'string' ? splitUrl(url) : undefined;
  const path = parts && canonicalPath(parts.path);
  if (parts === undefined || path === undefined) {
    throw new TypeError(`${where}: cannot sign this URL: its path is missing or refused`);
  }
  const pairs = parseQuery(parts.query ?? '');
  if (pairs === undefined) throw new TypeError(`${where}: cannot sign this URL: malformed query`);
  if (pairs.some(([name]) => name === SIGNATURE_PARAM)) {
    throw new TypeError(`${where}: the URL already has a "${SIGNATURE_PARAM}" parameter`);
  }
  const names = fields.names === '' ? [] : fields.names.split(',');
  const mac = macOf(key.bytes, signedString(fields, path, boundValues(names, pairs)));
  const query = parts.query ? `${parts.query}&` : '';
  const sig = `${SIGNATURE_PARAM}=${formatToken(fields, mac)}`;
  return `${parts.origin}${path}?${query}${sig}${parts.fragment}`;
}

function checkDate(where: string, name: string, value: unknown): void {
  if (value === undefined) return;
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new TypeError(`${where} option "${name}" must be a valid Date`);
  }
}

function checkBinding(where: string, bind: SignBinding | undefined) {
  checkOptionKeys(`${where} option "bind"`, bind, { method: true, query: true });
  const { method, query = [] } = bind ?? {};
  if (method !== undefined && !(typeof method === 'string' && BOUND_METHOD.test(method))) {
    throw new TypeError(`${where} option "bind.method" must be an upper-case method, e.g. 'GET'`);
  }
  const valid = (name: unknown) => typeof name === 'string' && BOUND_NAME.test(name);
  if (!Array.isArray(query) || !query.every(valid)) {
    throw new TypeError(
      `${where} option "bind.query" must be an array of names of letters, digits, _ and -`,
    );
  }
  if (query.includes(SIGNATURE_PARAM)) {
    throw new TypeError(`${where} option "bind.query" cannot bind "${SIGNATURE_PARAM}" itself`);
  }
  // Sorted and without repeats: one binding, one spelling.
  return { method: method ?? '', names: [...new Set(query)].sort().join(',') };
}
