import type { IncomingHttpHeaders } from 'node:http';
import { parseEtagList, strongMatch, weakMatch } from './etag.ts';
import { parseHttpDate } from './http-date.ts';

/** The validators of the selected representation. */
export interface Validators {
  etag?: string;
  lastModified?: Date;
}

/** Raw values of the conditional request headers; absent ones are `undefined`. */
export interface ConditionalHeaders {
  ifMatch?: string;
  ifNoneMatch?: string;
  ifModifiedSince?: string;
  ifUnmodifiedSince?: string;
  ifRange?: string;
}

export type PreconditionOutcome = 'proceed' | 'not-modified' | 'precondition-failed';

const SAFE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Evaluates preconditions in the order of RFC 9110 §13.2.2:
 * 1. If-Match (strong comparison) → 412 when false;
 * 2. else If-Unmodified-Since, only without If-Match → 412 when modified since;
 * 3. If-None-Match (weak comparison) → 304 for GET/HEAD, 412 otherwise, when it matches;
 * 4. else If-Modified-Since, only without If-None-Match and for GET/HEAD → 304 when unmodified.
 * Unparsable dates are ignored, as §13.1.3–4 require.
 *
 * @example
 * evaluatePreconditions('GET', { ifNoneMatch: '"a"' }, { etag: '"a"' }); // 'not-modified'
 */
export function evaluatePreconditions(
  method: string,
  headers: ConditionalHeaders,
  validators: Validators,
): PreconditionOutcome {
  if (headers.ifMatch !== undefined) {
    if (!ifMatchHolds(headers.ifMatch, validators.etag)) return 'precondition-failed';
  } else if (headers.ifUnmodifiedSince !== undefined) {
    if (modifiedSince(headers.ifUnmodifiedSince, validators.lastModified) === true) {
      return 'precondition-failed';
    }
  }
  if (headers.ifNoneMatch !== undefined) {
    if (!ifNoneMatchHolds(headers.ifNoneMatch, validators.etag)) {
      return SAFE_METHODS.has(method) ? 'not-modified' : 'precondition-failed';
    }
  } else if (headers.ifModifiedSince !== undefined && SAFE_METHODS.has(method)) {
    if (modifiedSince(headers.ifModifiedSince, validators.lastModified) === false) {
      return 'not-modified';
    }
  }
  return 'proceed';
}

/**
 * If-Range (RFC 9110 §13.1.5): ranges are served only when the validator still matches. An
 * entity tag must match strongly (a weak tag never does); a date must equal Last-Modified
 * exactly. Anything else, unparsable values included, means "send the whole file".
 *
 * @example
 * ifRangeAllowsPartial('W/"a"', { etag: '"a"' }); // false
 */
export function ifRangeAllowsPartial(ifRange: string | undefined, validators: Validators): boolean {
  if (ifRange === undefined) return true;
  const value = ifRange.trim();
  if (value.startsWith('"') || value.startsWith('W/')) {
    return validators.etag !== undefined && strongMatch(value, validators.etag);
  }
  const date = parseHttpDate(value.trim());
  const lastModified = validators.lastModified;
  return date !== undefined && lastModified !== undefined && date === seconds(lastModified);
}

/**
 * The conditional headers of a request as Node parsed them (lower-case names, repeated list
 * headers joined); an empty value counts as absent, as Koa's `ctx.get` would report it.
 *
 * @example
 * toConditionalHeaders(ctx.req.headers);
 */
export function toConditionalHeaders(headers: IncomingHttpHeaders): ConditionalHeaders {
  return {
    ifMatch: headers['if-match'] || undefined,
    ifNoneMatch: headers['if-none-match'] || undefined,
    ifModifiedSince: headers['if-modified-since'] || undefined,
    ifUnmodifiedSince: headers['if-unmodified-since'] || undefined,
    // Typed loosely by Node (no entry of its own); a list only ever arrives for Set-Cookie.
    ifRange: typeof headers['if-range'] === 'string' ? headers['if-range'] || undefined : undefined,
  };
}

function ifMatchHolds(header: string, etag: string | undefined): boolean {
  if (etag === undefined) return false;
  const tags = parseEtagList(header);
  return tags === '*' || tags.some((tag) => strongMatch(tag, etag));
}

function ifNoneMatchHolds(header: string, etag: string | undefined): boolean {
  const tags = parseEtagList(header);
  if (tags === '*') return false;
  return etag === undefined || !tags.some((tag) => weakMatch(tag, etag));
}

/** `true`/`false` when the comparison can be made, `undefined` when it cannot. */
function modifiedSince(header: string, lastModified: Date | undefined): boolean | undefined {
  const date = parseHttpDate(header.trim());
  if (date === undefined || lastModified === undefined) return undefined;
  return seconds(lastModified) > date;
}

/** HTTP dates have one-second resolution (RFC 9110 §5.6.7): compare whole seconds. */
function seconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
