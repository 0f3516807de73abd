import { createHmac } from 'node:crypto';

/**
 * Format v1 of a signed link: one query parameter `sig` whose value is seven fields joined by
 * dots, the first naming the version so that a later format can be told apart:
 *
 * `sig=v1.<key id>.<expires>.<not before>.<method>.<bound names>.<mac>`
 *
 * - key id: 8 base64url characters derived from the secret (`keyIdOf`), so a verifier holding
 *   several secrets knows which one to use;
 * - expires, not before: Unix times in seconds (not before may be empty);
 * - method: the bound request method, or empty;
 * - bound names: the query parameters whose values are signed, comma-separated, or empty;
 * - mac: HMAC-SHA256 of `signedString()`, base64url without padding (43 characters).
 *
 * @example
 * new URL(link, 'http://x').searchParams.get(SIGNATURE_PARAM); // 'v1.…'
 */
export const SIGNATURE_PARAM = 'sig';

/**
 * The current format version, the first field of every link signed now.
 *
 * @example
 * token.startsWith(`${SIGNATURE_VERSION}.`);
 */
export const SIGNATURE_VERSION = 'v1';

/**
 * Names a link may bind: no separator of the format, no empty name.
 *
 * @example
 * BOUND_NAME.test('response-content-type'); // true
 */
export const BOUND_NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * An HTTP method as the format carries it: an upper-case token.
 *
 * @example
 * BOUND_METHOD.test('GET'); // true, 'get' is refused
 */
export const BOUND_METHOD = /^[A-Z]{1,20}$/;

const V1_TOKEN =
  /^v1\.([A-Za-z0-9_-]{8})\.([0-9]{1,12})\.([0-9]{0,12})\.([A-Z]{0,20})\.([A-Za-z0-9_,-]{0,1000})\.([A-Za-z0-9_-]{43})$/;

/**
 * The fields of a v1 token, as strings: the MAC covers them exactly as written.
 *
 * @example
 * const fields: SignatureFields = { keyId, expires: '1767225600', notBefore: '', method: 'GET', names: '' };
 */
export interface SignatureFields {
  readonly keyId: string;
  readonly expires: string;
  readonly notBefore: string;
  readonly method: string;
  readonly names: string;
}

/**
 * A parsed v1 token.
 *
 * @example
 * const token = parseToken(value);
 * if (typeof token !== 'string') console.log(token.keyId);
 */
export interface ParsedToken extends SignatureFields {
  readonly mac: string;
}

/**
 * What `parseToken` found wrong, for the 403 reason.
 *
 * @example
 * const problem: TokenProblem = 'version';
 */
export type TokenProblem = 'malformed' | 'version';

/**
 * The fields of a `sig` value, or what is wrong with it: `version` for a well-formed token of
 * another version, `malformed` for anything else.
 *
 * @example
 * parseToken('v2.x'); // 'version'
 */
export function parseToken(token: string): ParsedToken | TokenProblem {
  const match = V1_TOKEN.exec(token);
  if (!match) return /^v[0-9]+\./.test(token) && !token.startsWith('v1.') ? 'version' : 'malformed';
  const [keyId, expires, notBefore, method, names, mac] = match.slice(1) as string[] as [
    string,
    string,
    string,
    string,
    string,
    string,
  ];
  if (names !== '' && !names.split(',').every((name) => BOUND_NAME.test(name))) return 'malformed';
  return { keyId, expires, notBefore, method, names, mac };
}

/**
 * The token for `fields` signed with `mac`.
 *
 * @example
 * formatToken(fields, mac); // 'v1.AbCdEfGh.1767225600...'
 */
export function formatToken(fields: SignatureFields, mac: string): string {
  const { keyId, expires, notBefore, method, names } = fields;
  return [SIGNATURE_VERSION, keyId, expires, notBefore, method, names, mac].join('.');
}

/**
 * The exact string the MAC covers: a label naming the format (so a MAC of this format is never
 * valid for another use of the same secret), every field of the token, the canonical path and
 * the bound parameters' values. No part can hold a newline, so the lines cannot be shifted.
 *
 * @example
 * signedString(fields, '/media/a.txt', [['user', ['7']]]);
 */
export function signedString(
  fields: SignatureFields,
  path: string,
  bound: readonly (readonly [string, readonly string[]])[],
): string {
  const { keyId, expires, notBefore, method, names } = fields;
  const label = 'koa-downloadview signed link v1';
  return [label, keyId, expires, notBefore, method, names, path, JSON.stringify(bound)].join('\n');
}

/**
 * HMAC-SHA256 of `text` under `key`, base64url without padding.
 *
 * @example
 * macOf(key, signedString(fields, path, bound)); // 43 characters
 */
export function macOf(key: Uint8Array, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('base64url');
}

/**
 * The public id of a secret: 48 bits of an HMAC under it, which reveal nothing of the secret
 * and let a verifier pick the right one among several.
 *
 * @example
 * keyIdOf(key); // e.g. 'Q2x5dF9k'
 */
export function keyIdOf(key: Uint8Array): string {
  return macOf(key, 'koa-downloadview signing key id').slice(0, 8);
}

/**
 * The values of each bound name in `pairs`, in the order of `names`, each in query order.
 *
 * @example
 * boundValues(['user'], [['user', '7'], ['x', '1']]); // [['user', ['7']]]
 */
export function boundValues(
  names: readonly string[],
  pairs: readonly (readonly [string, string])[],
): [string, string[]][] {
  return names.map((name) => [name, pairs.filter(([key]) => key === name).map(([, v]) => v)]);
}
