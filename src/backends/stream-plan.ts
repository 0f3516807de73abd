import { formatHttpDate } from '../http/http-date.ts';
import { contentRange, decideRange, unsatisfiedRange } from '../http/range.ts';
import { planMultipart, type MultipartPlan } from '../http/multipart.ts';
import {
  evaluatePreconditions,
  ifRangeAllowsPartial,
  type ConditionalHeaders,
} from '../http/preconditions.ts';
import type { ByteRange } from '../storage.ts';

/** What the streaming decision needs to know about the file, gathered before any byte is read. */
export interface FileFacts {
  readonly size: number | undefined;
  readonly rangeable: boolean;
  readonly etag: string | undefined;
  readonly lastModified: Date | undefined;
  readonly contentType: string;
  readonly contentDisposition: string;
}

/** What the streaming decision needs to know about the request. */
export interface RequestFacts {
  readonly method: string;
  readonly range: string | undefined;
  readonly conditions: ConditionalHeaders;
}

/**
 * Header values as strings, filled in by assignment in one order: objects of one shape make
 * this per-request code several times cheaper than spreads and entry lists did.
 */
export type ResponseHeaders = Record<string, string>;

/** The whole answer as data: status, headers and which bytes make the body. */
export type StreamPlan =
  | { readonly status: 304 | 412 | 416; readonly headers: ResponseHeaders }
  | { readonly status: 200; readonly headers: ResponseHeaders; readonly body: 'whole' }
  | { readonly status: 206; readonly headers: ResponseHeaders; readonly body: ByteRange }
  | { readonly status: 206; readonly headers: ResponseHeaders; readonly body: MultipartPlan };

/** RFC 9110 §14.2: GET is the only method with range handling; HEAD mirrors GET's headers. */
const RANGE_METHODS = new Set(['GET', 'HEAD']);

/**
 * Decides the streamed answer from request and file facts alone (no I/O): preconditions first
 * (RFC 9110 §13.2.2), then If-Range and Range (§13.1.5, §14.2), then the full representation.
 *
 * @example
 * planStream({ method: 'GET', range: 'bytes=0-9', conditions: {} }, facts, { maxRanges: 16 });
 */
export function planStream(
  request: RequestFacts,
  file: FileFacts,
  options: { maxRanges: number },
): StreamPlan {
  const validators = { etag: file.etag, lastModified: file.lastModified };
  const outcome = evaluatePreconditions(request.method, request.conditions, validators);
  if (outcome === 'not-modified') return { status: 304, headers: validatorHeaders(file) };
  if (outcome === 'precondition-failed') return { status: 412, headers: {} };
  const headers = representationHeaders(file);
  const size = file.size;
  if (size === undefined || !file.rangeable || !wantsRange(request, validators)) {
    return whole(headers, size);
  }
  const decision = decideRange(request.range, size, options);
  // The Range was ignored (more ranges than maxRanges, or malformed): say this answer takes
  // none, or lighttpd in front, which ranges a backend's 200 by itself, serves the thousand
  // ranges of a CVE-2011-3192 request that the app refused to.
  if (decision.kind === 'full') return whole({ ...headers, 'Accept-Ranges': 'none' }, size);
  if (decision.kind === 'unsatisfiable') {
    return { status: 416, headers: { 'Content-Range': unsatisfiedRange(size) } };
  }
  const [first, ...others] = decision.ranges;
  if (first && others.length === 0) return single(headers, first, size, file.contentType);
  const multipart = planMultipart(decision.ranges, size, file.contentType);
  return partial(headers, multipart.contentType, multipart.contentLength, multipart);
}

function wantsRange(request: RequestFacts, validators: Parameters<typeof ifRangeAllowsPartial>[1]) {
  return (
    request.range !== undefined &&
    RANGE_METHODS.has(request.method) &&
    ifRangeAllowsPartial(request.conditions.ifRange, validators)
  );
}

function whole(headers: ResponseHeaders, size: number | undefined): StreamPlan {
  if (size !== undefined) headers['Content-Length'] = String(size);
  return { status: 200, headers, body: 'whole' };
}

function single(
  headers: ResponseHeaders,
  range: ByteRange,
  size: number,
  contentType: string,
): StreamPlan {
  headers['Content-Range'] = contentRange(range, size);
  return partial(headers, contentType, range.end - range.start + 1, range);
}

function partial(
  headers: ResponseHeaders,
  contentType: string,
  length: number,
  body: ByteRange | MultipartPlan,
): StreamPlan {
  headers['Content-Type'] = contentType;
  headers['Content-Length'] = String(length);
  return { status: 206, headers, body };
}

/** RFC 9110 §15.4.5: a 304 repeats the validators; Cache-Control, Vary, Expires set by the route stay. */
function validatorHeaders(file: FileFacts): ResponseHeaders {
  const headers: ResponseHeaders = {};
  if (file.etag) headers['ETag'] = file.etag;
  if (file.lastModified) headers['Last-Modified'] = formatHttpDate(file.lastModified);
  return headers;
}

function representationHeaders(file: FileFacts): ResponseHeaders {
  const headers = validatorHeaders(file);
  headers['Content-Type'] = file.contentType;
  headers['Content-Disposition'] = file.contentDisposition;
  headers['Accept-Ranges'] = file.rangeable && file.size !== undefined ? 'bytes' : 'none';
  return headers;
}
