import type { Context, Next } from 'koa';
import { debugFor } from '../debug.ts';
import { checkOptionKeys, type OptionKeys } from '../options.ts';
import { signingKeys, type SigningSecret } from './secrets.ts';
import { SIGNATURE_ERROR_CODES, SIGNATURE_REASONS, verifySignedRequest } from './verify.ts';

const debug = debugFor('signing');

/**
 * Options of `signatureRequired()`.
 *
 * @example
 * const options: SignatureRequiredOptions = { secrets: [current, previous], clockSkew: 30 };
 */
export interface SignatureRequiredOptions {
  /**
   * The secrets links may be signed with, the current one first: a link signed with any of
   * them verifies. To rotate, sign with a new secret and list the old one after it until its
   * last links have expired; then remove it.
   */
  secrets: readonly SigningSecret[];
  /**
   * Seconds of tolerance on expiry and not-before, for servers whose clocks differ. Default 0.
   */
  clockSkew?: number;
}

const OPTION_KEYS: OptionKeys<SignatureRequiredOptions> = { secrets: true, clockSkew: true };

/** More tolerance than this is a link lifetime, not a clock difference. */
const MAX_CLOCK_SKEW = 3600;

/**
 * A Koa middleware that lets a request through only with a valid signed link (`signUrl()`,
 * `signedUrls()`); any other answers `403` with a short reason, and `err.code` one of
 * `SIGNATURE_ERROR_CODES`. It checks the path as `ctx.path` holds it when it runs (what the
 * router routes), so register it where `ctx.path` is the path that was signed: in the route,
 * or before a `koa-mount` that strips a prefix.
 *
 * @example
 * router.get(
 *   '/media/*path',
 *   signatureRequired({ secrets: [process.env.DOWNLOAD_SECRET!, process.env.OLD_DOWNLOAD_SECRET!] }),
 *   storageDownload({ storage }),
 * );
 */
export function signatureRequired(options: SignatureRequiredOptions) {
  checkOptionKeys('signatureRequired', options, OPTION_KEYS);
  if (options === undefined) throw new TypeError('signatureRequired needs options: { secrets }');
  const keys = signingKeys('signatureRequired', options.secrets);
  const { clockSkew = 0 } = options;
  if (!Number.isSafeInteger(clockSkew) || clockSkew < 0 || clockSkew > MAX_CLOCK_SKEW) {
    throw new TypeError(
      `signatureRequired option "clockSkew" must be an integer of seconds from 0 to ${MAX_CLOCK_SKEW}`,
    );
  }
  return async function signatureRequired(ctx: Context, next: Next): Promise<void> {
    const request = { path: ctx.path, query: ctx.querystring, method: ctx.method, now: Date.now() };
    const reason = verifySignedRequest(request, keys, clockSkew);
    if (reason !== undefined) {
      debug('%s refused: %s', ctx.method, SIGNATURE_ERROR_CODES[reason]);
      ctx.throw(403, SIGNATURE_REASONS[reason], { code: SIGNATURE_ERROR_CODES[reason] });
    }
    await next();
  };
}
