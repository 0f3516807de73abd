/**
 * A reference model of RFC 9110 §13 (conditional requests) and §14 (range requests) for one
 * static file, written from the RFC and deliberately simple: it imports nothing of the library
 * under test, so that the property tests compare two independent readings of the RFC. Where
 * the RFC leaves a choice, the model follows a `ModelPolicy` (model-policy.ts); the library's
 * policy and the reason each setting is allowed are the table in deviations.ts.
 */
import { parseHttpDateLenient, parseHttpDateStrict } from './model-dates.ts';
import type { ModelPolicy } from './model-policy.ts';
import { rangeOutcome, type ModelRange } from './model-ranges.ts';

export type { ModelRange } from './model-ranges.ts';

/** What the model knows of the file: its size and validators. */
export interface ModelFile {
  readonly size: number;
  readonly etag: string | undefined;
  readonly lastModified: Date | undefined;
  /** False for content without random access (a generated stream): ranges are never served. */
  readonly rangeable: boolean;
}

/** One request: a method and its headers, names in lower case. */
export interface ModelRequest {
  readonly method: 'GET' | 'HEAD';
  readonly headers: Readonly<Record<string, string>>;
}

/** The headers the model has an opinion on. */
export const CHECKED_HEADERS = [
  'content-range',
  'content-length',
  'etag',
  'last-modified',
  'accept-ranges',
] as const;
export type CheckedHeader = (typeof CHECKED_HEADERS)[number];

/** A header expectation: this value, `null` for absent, a list of allowed ones, or unchecked. */
export type HeaderExpectation = string | null | readonly (string | null)[] | undefined;

export type ExpectedBody =
  | { readonly kind: 'whole' }
  | { readonly kind: 'single'; readonly range: ModelRange }
  | { readonly kind: 'multipart'; readonly ranges: readonly ModelRange[] }
  | { readonly kind: 'empty' }
  | { readonly kind: 'unchecked' };

/** The answer the model expects, with the rules it applied (RFC sections) as a trace. */
export interface Expected {
  readonly status: 200 | 206 | 304 | 412 | 416;
  readonly body: ExpectedBody;
  readonly headers: Readonly<Record<CheckedHeader, HeaderExpectation>>;
  readonly trace: readonly string[];
}

/**
 * The expected answer to `request` for `file`, following §13.2.2 step by step.
 *
 * @example
 * expectResponse({ size: 10, etag: '"a"', lastModified: undefined, rangeable: true },
 *   { method: 'GET', headers: { range: 'bytes=0-1' } }, RFC_POLICY).status; // 206
 */
export function expectResponse(
  file: ModelFile,
  request: ModelRequest,
  policy: ModelPolicy,
): Expected {
  const trace: string[] = [];
  const h = request.headers;
  // §13.2.2 step 1: If-Match; step 2: If-Unmodified-Since only when If-Match is absent.
  if (h['if-match'] !== undefined) {
    if (!ifMatch(h['if-match'], file, policy)) return failed(trace, '§13.1.1 If-Match false');
    trace.push('§13.1.1 If-Match true');
  } else if (h['if-unmodified-since'] !== undefined) {
    if (modifiedSince(h['if-unmodified-since'], file, policy) === true) {
      return failed(trace, '§13.1.4 If-Unmodified-Since false');
    }
    trace.push('§13.1.4 If-Unmodified-Since true or ignored');
  }
  // Step 3: If-None-Match; step 4: If-Modified-Since only when If-None-Match is absent.
  if (h['if-none-match'] !== undefined) {
    if (!ifNoneMatch(h['if-none-match'], file, policy)) {
      return notModified(file, trace, '§13.1.2 If-None-Match false, GET/HEAD');
    }
    trace.push('§13.1.2 If-None-Match true');
  } else if (h['if-modified-since'] !== undefined) {
    if (modifiedSince(h['if-modified-since'], file, policy) === false) {
      return notModified(file, trace, '§13.1.3 If-Modified-Since false');
    }
    trace.push('§13.1.3 If-Modified-Since true or ignored');
  }
  return ranged(file, request, policy, trace);
}

/** Steps 5–6: If-Range decides whether Range is looked at (§13.1.5), then §14.2. */
function ranged(file: ModelFile, request: ModelRequest, policy: ModelPolicy, trace: string[]) {
  const range = request.headers['range'];
  if (range === undefined) return whole(file, request, trace, 'no Range');
  if (!file.rangeable) return whole(file, request, trace, '§14.2 no range support: Range ignored');
  if (request.method === 'HEAD' && policy.headRange === 'ignore') {
    return whole(file, request, trace, '§14.2 Range on HEAD ignored');
  }
  const ifRangeHeader = request.headers['if-range'];
  if (ifRangeHeader !== undefined && !ifRange(ifRangeHeader, file, policy)) {
    return whole(file, request, trace, '§13.1.5 If-Range false: Range ignored');
  }
  const outcome = rangeOutcome(range, file.size, policy);
  if (outcome.kind === 'ignore') {
    const ignored = whole(file, request, trace, `§14.2 Range ignored: ${outcome.why}`);
    // §14.3 lets a server say "none" on any answer: the app does where it ignored the Range,
    // so no proxy in front (lighttpd) applies that Range to the whole file by itself.
    return { ...ignored, headers: { ...ignored.headers, 'accept-ranges': 'none' } };
  }
  if (outcome.kind === 'unsatisfiable') {
    trace.push('§14.2 no satisfiable range → 416 (§15.5.17)');
    return answer(416, { kind: 'unchecked' }, trace, {
      'content-range': `bytes */${file.size}`,
    });
  }
  return partial(file, request, outcome.ranges, trace);
}

function partial(
  file: ModelFile,
  request: ModelRequest,
  ranges: readonly ModelRange[],
  trace: string[],
) {
  const validators = validatorHeaders(file);
  const head = request.method === 'HEAD';
  const [first] = ranges;
  if (ranges.length === 1 && first) {
    trace.push('§15.3.7.1 one range: single part');
    return answer(206, head ? { kind: 'empty' } : { kind: 'single', range: first }, trace, {
      ...validators,
      'content-range': `bytes ${first.start}-${first.end}/${file.size}`,
      'content-length': String(first.end - first.start + 1),
      'accept-ranges': 'bytes',
    });
  }
  // §15.3.7.2: multipart/byteranges, no Content-Range in the header section.
  trace.push(`§15.3.7.2 ${ranges.length} ranges: multipart`);
  return answer(206, head ? { kind: 'empty' } : { kind: 'multipart', ranges }, trace, {
    ...validators,
    'content-range': null,
    'accept-ranges': 'bytes',
  });
}

function whole(file: ModelFile, request: ModelRequest, trace: string[], why: string): Expected {
  trace.push(why, '200 with the whole file');
  return answer(200, request.method === 'HEAD' ? { kind: 'empty' } : { kind: 'whole' }, trace, {
    ...validatorHeaders(file),
    'content-range': null,
    'content-length': String(file.size),
    // §14.3: Accept-Ranges is optional; the model expects "bytes", or "none" where no range is
    // ever served (the choice is listed in deviations.ts).
    'accept-ranges': file.rangeable ? 'bytes' : 'none',
  });
}

/** §15.4.5: a 304 MUST carry the ETag a 200 would; Content-Length, if any, is the 200's. */
function notModified(file: ModelFile, trace: string[], why: string): Expected {
  trace.push(why, '304');
  const { etag, 'last-modified': lastModified } = validatorHeaders(file);
  return answer(304, { kind: 'empty' }, trace, {
    etag,
    // SHOULD NOT, unless it guides cache updates (it does): both allowed.
    'last-modified': [lastModified, null],
    'content-range': null,
    'content-length': [null, String(file.size)],
  });
}

function failed(trace: string[], why: string): Expected {
  trace.push(why, '412');
  return answer(412, { kind: 'unchecked' }, trace, { 'content-range': null });
}

function answer(
  status: Expected['status'],
  body: ExpectedBody,
  trace: string[],
  headers: Partial<Record<CheckedHeader, HeaderExpectation>>,
): Expected {
  const all = Object.fromEntries(CHECKED_HEADERS.map((name) => [name, headers[name]]));
  return { status, body, trace, headers: all as Record<CheckedHeader, HeaderExpectation> };
}

function validatorHeaders(file: ModelFile) {
  return {
    etag: file.etag ?? null,
    'last-modified': file.lastModified ? file.lastModified.toUTCString() : null,
  };
}

/** §13.1.1: `*` is true when a representation exists (it does); else a strong match of a member. */
function ifMatch(value: string, file: ModelFile, policy: ModelPolicy): boolean {
  const tags = entityTags(value, policy);
  if (tags === '*') return true;
  return file.etag !== undefined && tags.some((tag) => strongMatch(tag, file.etag!));
}

/** §13.1.2: `*` is false when a representation exists; else false when any member matches weakly. */
function ifNoneMatch(value: string, file: ModelFile, policy: ModelPolicy): boolean {
  const tags = entityTags(value, policy);
  if (tags === '*') return false;
  return file.etag === undefined || !tags.some((tag) => weakMatch(tag, file.etag!));
}

/**
 * §13.1.3–§13.1.4: whether the file was modified after the date; `undefined` when the date is
 * not a valid HTTP-date or the file has no Last-Modified (the header is then ignored).
 * HTTP dates have one-second resolution: Last-Modified is compared in whole seconds.
 */
function modifiedSince(value: string, file: ModelFile, policy: ModelPolicy): boolean | undefined {
  const date = readDate(value, policy);
  if (date === undefined || !file.lastModified) return undefined;
  return Math.floor(file.lastModified.getTime() / 1000) > date;
}

/**
 * §13.1.5: an entity tag must match strongly (so a weak one never does); a date must equal
 * Last-Modified exactly (the origin here treats its Last-Modified as strong, §8.8.2.2); anything
 * else is false.
 */
function ifRange(value: string, file: ModelFile, policy: ModelPolicy): boolean {
  if (/^(W\/)?"/.test(value)) return file.etag !== undefined && strongMatch(value, file.etag);
  const date = readDate(value, policy);
  if (date === undefined || !file.lastModified) return false;
  return Math.floor(file.lastModified.getTime() / 1000) === date;
}

function readDate(value: string, policy: ModelPolicy): number | undefined {
  return policy.dateReading === 'strict' ? parseHttpDateStrict(value) : parseHttpDateLenient(value);
}

/** §8.8.3.2 strong comparison: both strong, opaque-tags identical. */
function strongMatch(a: string, b: string): boolean {
  return !a.startsWith('W/') && !b.startsWith('W/') && a === b;
}

/** §8.8.3.2 weak comparison: opaque-tags identical, either or both may be weak. */
function weakMatch(a: string, b: string): boolean {
  return a.replace(/^W\//, '') === b.replace(/^W\//, '');
}

/** §8.8.3 entity-tag = [ W/ ] DQUOTE *etagc DQUOTE. */
const ENTITY_TAG = /^(?:W\/)?"[\x21\x23-\x7e\x80-\xff]*"/;

/**
 * If-Match / If-None-Match = "*" / #entity-tag. Members are read one by one; an entity-tag may
 * hold commas, so the list is not split on them. Empty elements follow `etagListEmptyElements`.
 */
function entityTags(value: string, policy: ModelPolicy): '*' | string[] {
  if (value.trim() === '*') return '*';
  const tags: string[] = [];
  let rest = value;
  for (;;) {
    rest = rest.replace(/^[ \t]+/, '');
    if (rest === '') return tags;
    if (rest.startsWith(',')) {
      if (policy.etagListEmptyElements === 'end-list') return tags;
      rest = rest.slice(1);
      continue;
    }
    const tag = ENTITY_TAG.exec(rest)?.[0];
    if (tag === undefined)
      throw new Error(`the generator made an invalid entity-tag list: ${value}`);
    tags.push(tag);
    rest = rest.slice(tag.length).replace(/^[ \t]+/, '');
    if (rest !== '' && !rest.startsWith(',')) {
      throw new Error(`the generator made an invalid entity-tag list: ${value}`);
    }
    rest = rest.slice(1);
  }
}
