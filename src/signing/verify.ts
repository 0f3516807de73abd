import { timingSafeEqual } from 'node:crypto';
import { canonicalPath, parseQuery } from './canonical.ts';
import {
  boundValues,
  macOf,
  parseToken,
  SIGNATURE_PARAM,
  signedString,
  type ParsedToken,
} from './format.ts';
import type { SigningKey } from './secrets.ts';

/**
 * Why a link was refused: stable codes carried by the 403 error (`err.code`), and the short
 * reason its body says. Neither names a secret nor a path.
 *
 * @example
 * app.on('error', (err) => {
 *   if (err.code === SIGNATURE_ERROR_CODES.expired) metrics.increment('expired_links');
 * });
 */
export const SIGNATURE_ERROR_CODES = {
  /** No `sig` parameter. */
  missing: 'ERR_SIGNATURE_MISSING',
  /** A `sig` of the wrong shape or repeated, a refused path, or a malformed query. */
  malformed: 'ERR_SIGNATURE_MALFORMED',
  /** A `sig` of a format version this verifier does not know. */
  version: 'ERR_SIGNATURE_VERSION',
  /** Signed with a secret that is not (or no longer) listed in `secrets`. */
  unknownKey: 'ERR_SIGNATURE_UNKNOWN_KEY',
  /** The MAC does not match: something the signature covers was changed. */
  invalid: 'ERR_SIGNATURE_INVALID',
  /** Past the link's expiry, `clockSkew` included. */
  expired: 'ERR_SIGNATURE_EXPIRED',
  /** Before the link's not-before time, `clockSkew` included. */
  notYetValid: 'ERR_SIGNATURE_NOT_YET_VALID',
  /** A method other than the bound one (a `GET` link also serves `HEAD`). */
  method: 'ERR_SIGNATURE_METHOD',
} as const;

/**
 * One of `SIGNATURE_ERROR_CODES`.
 *
 * @example
 * const code: SignatureErrorCode = SIGNATURE_ERROR_CODES.invalid; // 'ERR_SIGNATURE_INVALID'
 */
export type SignatureErrorCode = (typeof SIGNATURE_ERROR_CODES)[keyof typeof SIGNATURE_ERROR_CODES];

type Reason = keyof typeof SIGNATURE_ERROR_CODES;

/**
 * The body of each 403, by reason.
 *
 * @example
 * SIGNATURE_REASONS.expired; // 'Link expired'
 */
export const SIGNATURE_REASONS: Readonly<Record<Reason, string>> = {
  missing: 'Signature required',
  malformed: 'Malformed signed link',
  version: 'Unsupported signature version',
  unknownKey: 'Unknown signing key',
  invalid: 'Invalid signature',
  expired: 'Link expired',
  notYetValid: 'Link not yet valid',
  method: 'Method not covered by the signature',
};

/**
 * The parts of a request a signature is checked against.
 *
 * @example
 * const request: SignedRequest = { path: ctx.path, query: ctx.querystring, method: ctx.method, now: Date.now() };
 */
export interface SignedRequest {
  /** The raw path, as `ctx.path` holds it (still percent-encoded). */
  readonly path: string;
  /** The raw query, without `?`, as `ctx.querystring` holds it. */
  readonly query: string;
  readonly method: string;
  /** Milliseconds since the epoch. */
  readonly now: number;
}

/**
 * Why `request` is refused, or `undefined` when its signature holds. Order: the token's shape,
 * its key, its MAC (compared in constant time), then times and method, so that only an
 * authentic link learns it expired.
 *
 * @example
 * const reason = verifySignedRequest({ path: ctx.path, query: ctx.querystring, method: ctx.method, now: Date.now() }, keys, 0);
 */
export function verifySignedRequest(
  request: SignedRequest,
  keys: ReadonlyMap<string, SigningKey>,
  clockSkew: number,
): Reason | undefined {
  const pairs = parseQuery(request.query);
  const tokens = pairs?.filter(([name]) => name === SIGNATURE_PARAM) ?? [];
  if (pairs !== undefined && tokens.length === 0) return 'missing';
  const path = canonicalPath(request.path);
  if (pairs === undefined || tokens.length > 1 || path === undefined) return 'malformed';
  const token = parseToken((tokens[0] as [string, string])[1]);
  if (typeof token === 'string') return token;
  const key = keys.get(token.keyId);
  if (key === undefined) return 'unknownKey';
  const names = token.names === '' ? [] : token.names.split(',');
  const expected = macOf(key.bytes, signedString(token, path, boundValues(names, pairs)));
  // Both are 43 ASCII characters (the token's pattern says so): equal lengths, as required.
  if (!timingSafeEqual(Buffer.from(expected), Buffer.from(token.mac))) return 'invalid';
  return checkWhen(token, request.now, clockSkew * 1000) ?? checkMethod(token, request.method);
}

function checkWhen(token: ParsedToken, now: number, skew: number): Reason | undefined {
  if (now >= Number(token.expires) * 1000 + skew) return 'expired';
  if (token.notBefore !== '' && now < Number(token.notBefore) * 1000 - skew) return 'notYetValid';
  return undefined;
}

function checkMethod(token: ParsedToken, method: string): Reason | undefined {
  if (token.method === '' || token.method === method) return undefined;
  // A GET link also answers HEAD, as Koa routers route HEAD to GET routes (RFC 9110 §9.3.2).
  return token.method === 'GET' && method === 'HEAD' ? undefined : 'method';
}
