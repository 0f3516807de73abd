import { keyIdOf } from './format.ts';

/**
 * A signing secret: a string (its UTF-8 bytes) or bytes, at least 32 bytes long. Make one with
 * `openssl rand -base64 48`, or `randomBytes(32)` from node:crypto.
 *
 * @example
 * const secret: SigningSecret = process.env.DOWNLOAD_SECRET ?? randomBytes(32);
 */
export type SigningSecret = string | Uint8Array;

/**
 * The shortest secret accepted, in bytes: 256 bits, the size of HMAC-SHA256's output.
 *
 * @example
 * if (Buffer.byteLength(secret) < MIN_SECRET_BYTES) throw new Error('DOWNLOAD_SECRET is too short');
 */
export const MIN_SECRET_BYTES = 32;

/**
 * A secret checked and ready: its bytes and its public key id.
 *
 * @example
 * const { id } = signingKey('secret', secret); // the key id links carry
 */
export interface SigningKey {
  readonly id: string;
  readonly bytes: Buffer;
}

/**
 * Checks one secret at set-up and derives its key id. The message names the option, never the
 * secret.
 *
 * @example
 * const key = signingKey('signUrl option "secret"', process.env.DOWNLOAD_SECRET ?? '');
 */
export function signingKey(where: string, secret: unknown): SigningKey {
  let bytes: Buffer;
  if (typeof secret === 'string') bytes = Buffer.from(secret, 'utf8');
  else if (secret instanceof Uint8Array) bytes = Buffer.from(secret);
  else throw new TypeError(`${where} must be a string or a Uint8Array`);
  if (bytes.length < MIN_SECRET_BYTES) {
    throw new TypeError(`${where} must be at least ${MIN_SECRET_BYTES} bytes long`);
  }
  return { id: keyIdOf(bytes), bytes };
}

/**
 * The keys of a `secrets` option, by key id: a non-empty array of secrets, none listed twice.
 *
 * @example
 * const keys = signingKeys('signatureRequired', [current, previous]);
 */
export function signingKeys(where: string, secrets: unknown): Map<string, SigningKey> {
  if (!Array.isArray(secrets) || secrets.length === 0) {
    throw new TypeError(`${where} option "secrets" must be a non-empty array of secrets`);
  }
  const keys = new Map<string, SigningKey>();
  secrets.forEach((secret: unknown, index) => {
    const key = signingKey(`${where} option "secrets[${index}]"`, secret);
    if (keys.has(key.id)) {
      throw new TypeError(`${where} option "secrets[${index}]" repeats an earlier secret`);
    }
    keys.set(key.id, key);
  });
  return keys;
}
