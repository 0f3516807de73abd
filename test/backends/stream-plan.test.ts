import { expect } from 'chai';
import {
  planStream,
  type FileFacts,
  type RequestFacts,
  type StreamPlan,
} from '../../src/backends/stream-plan.ts';
import type { ConditionalHeaders } from '../../src/http/preconditions.ts';
import type { ByteRange } from '../../src/storage.ts';

const MODIFIED = new Date('2026-01-02T03:04:05Z');
const FILE: FileFacts = {
  size: 37,
  rangeable: true,
  etag: '"v1"',
  lastModified: MODIFIED,
  contentType: 'text/plain; charset=utf-8',
  contentDisposition: 'attachment; filename="a.txt"',
};

/** The headers of the representation, as every 200 and 206 carries them. */
const REPRESENTATION = {
  ETag: '"v1"',
  'Last-Modified': MODIFIED.toUTCString(),
  'Content-Type': 'text/plain; charset=utf-8',
  'Content-Disposition': 'attachment; filename="a.txt"',
  'Accept-Ranges': 'bytes',
};

interface Case {
  /** What the request (and file) are, as the test is named. */
  readonly what: string;
  readonly method?: string;
  readonly range?: string;
  readonly conditions?: ConditionalHeaders;
  readonly file?: Partial<FileFacts>;
  readonly maxRanges?: number;
  readonly status: StreamPlan['status'];
  /** Exact headers; for multipart, every header but Content-Type and Content-Length. */
  readonly headers: Record<string, string>;
  /** 'whole', one range, or the ranges of a multipart body; none for 304, 412, 416. */
  readonly body?: 'whole' | ByteRange | ByteRange[];
}

function plan(c: Case): StreamPlan {
  const request: RequestFacts = {
    method: c.method ?? 'GET',
    range: c.range,
    conditions: c.conditions ?? {},
  };
  return planStream(request, { ...FILE, ...c.file }, { maxRanges: c.maxRanges ?? 16 });
}

const whole = (length = '37') => ({ ...REPRESENTATION, 'Content-Length': length });
/** A Range ignored: the whole file, saying it takes none (so no proxy in front ranges it). */
const ignored = () => ({ ...whole(), 'Accept-Ranges': 'none' });
const single = (start: number, end: number) => ({
  ...REPRESENTATION,
  'Content-Range': `bytes ${start}-${end}/37`,
  'Content-Length': String(end - start + 1),
});

function runTable(title: string, cases: Case[]): void {
  describe(title, () => {
    for (const c of cases) {
      const shown = `${c.method ?? 'GET'} ${c.range === undefined ? 'without Range' : c.range}`;
      it(`${c.what}: ${shown} → ${c.status}`, () => {
        const result = plan(c);
        expect(result.status).to.equal(c.status);
        if (Array.isArray(c.body)) return expectMultipart(result, c);
        expect(result.headers).to.deep.equal(c.headers);
        expect('body' in result ? result.body : undefined).to.deep.equal(c.body);
      });
    }
  });
}

function expectMultipart(result: StreamPlan, c: Case): void {
  if (!('body' in result) || typeof result.body !== 'object' || !('parts' in result.body)) {
    expect.fail(`expected a multipart body, got ${JSON.stringify(result)}`);
  }
  const type = result.headers['Content-Type'];
  const length = result.headers['Content-Length'];
  expect(without(without(result.headers, 'Content-Type'), 'Content-Length')).to.deep.equal(
    c.headers,
  );
  expect(type)
    .to.equal(result.body.contentType)
    .and.match(/^multipart\/byteranges; boundary=/);
  expect(length).to.equal(String(result.body.contentLength));
  expect(result.body.parts.map((part) => part.range)).to.deep.equal(c.body);
}

/** `headers` less `name`. */
function without(headers: Record<string, string>, name: string): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([key]) => key !== name));
}

/** The headers of a multipart 206 besides its own Content-Type and Content-Length. */
const MULTIPART = without(REPRESENTATION, 'Content-Type');

runTable('planStream: Range', [
  { what: 'no range', status: 200, headers: whole(), body: 'whole' },
  {
    what: 'a first range',
    range: 'bytes=0-9',
    status: 206,
    headers: single(0, 9),
    body: { start: 0, end: 9 },
  },
  {
    what: 'the last byte',
    range: 'bytes=36-36',
    status: 206,
    headers: single(36, 36),
    body: { start: 36, end: 36 },
  },
  {
    what: 'a suffix',
    range: 'bytes=-5',
    status: 206,
    headers: single(32, 36),
    body: { start: 32, end: 36 },
  },
  {
    what: 'a suffix longer than the file',
    range: 'bytes=-100',
    status: 206,
    headers: single(0, 36),
    body: { start: 0, end: 36 },
  },
  {
    what: 'an open range',
    range: 'bytes=30-',
    status: 206,
    headers: single(30, 36),
    body: { start: 30, end: 36 },
  },
  {
    what: 'an end past the file, clamped',
    range: 'bytes=30-99',
    status: 206,
    headers: single(30, 36),
    body: { start: 30, end: 36 },
  },
  {
    what: 'overlapping ranges, coalesced into one',
    range: 'bytes=0-4,3-9',
    status: 206,
    headers: single(0, 9),
    body: { start: 0, end: 9 },
  },
  {
    what: 'adjacent ranges, coalesced into one',
    range: 'bytes=0-4,5-9',
    status: 206,
    headers: single(0, 9),
    body: { start: 0, end: 9 },
  },
  {
    what: 'two ranges, as multipart in the order asked',
    range: 'bytes=20-29,0-1',
    status: 206,
    headers: MULTIPART,
    body: [
      { start: 20, end: 29 },
      { start: 0, end: 1 },
    ],
  },
  {
    what: 'a range past the end',
    range: 'bytes=37-',
    status: 416,
    headers: { 'Content-Range': 'bytes */37' },
  },
  {
    what: 'a range far past the end',
    range: 'bytes=100-200',
    status: 416,
    headers: { 'Content-Range': 'bytes */37' },
  },
  {
    what: 'an invalid range, ignored',
    range: 'bytes=5-3',
    status: 200,
    headers: ignored(),
    body: 'whole',
  },
  {
    what: 'another unit, ignored',
    range: 'items=0-1',
    status: 200,
    headers: ignored(),
    body: 'whole',
  },
]);

const DATE = MODIFIED.toUTCString();
const LATER = new Date(MODIFIED.getTime() + 1000).toUTCString();

runTable('planStream: If-Range', [
  {
    what: 'the current strong ETag',
    range: 'bytes=0-9',
    conditions: { ifRange: '"v1"' },
    status: 206,
    headers: single(0, 9),
    body: { start: 0, end: 9 },
  },
  {
    what: 'an old ETag',
    range: 'bytes=0-9',
    conditions: { ifRange: '"v0"' },
    status: 200,
    headers: whole(),
    body: 'whole',
  },
  {
    what: 'the current ETag, weak (never matches)',
    range: 'bytes=0-9',
    conditions: { ifRange: 'W/"v1"' },
    status: 200,
    headers: whole(),
    body: 'whole',
  },
  {
    what: 'an ETag, for a file without one',
    range: 'bytes=0-9',
    conditions: { ifRange: '"v1"' },
    file: { etag: undefined },
    status: 200,
    headers: without(whole(), 'ETag'),
    body: 'whole',
  },
  {
    what: 'the exact Last-Modified date',
    range: 'bytes=0-9',
    conditions: { ifRange: DATE },
    status: 206,
    headers: single(0, 9),
    body: { start: 0, end: 9 },
  },
  {
    what: 'a later date',
    range: 'bytes=0-9',
    conditions: { ifRange: LATER },
    status: 200,
    headers: whole(),
    body: 'whole',
  },
  {
    what: 'an unparsable date',
    range: 'bytes=0-9',
    conditions: { ifRange: 'yesterday' },
    status: 200,
    headers: whole(),
    body: 'whole',
  },
]);

runTable('planStream: methods and preconditions', [
  {
    what: 'HEAD, the headers of GET',
    method: 'HEAD',
    status: 200,
    headers: whole(),
    body: 'whole',
  },
  {
    what: 'HEAD with a range, the headers of a 206',
    method: 'HEAD',
    range: 'bytes=0-9',
    status: 206,
    headers: single(0, 9),
    body: { start: 0, end: 9 },
  },
  {
    what: 'POST ignores Range',
    method: 'POST',
    range: 'bytes=0-9',
    status: 200,
    headers: whole(),
    body: 'whole',
  },
  {
    what: 'If-None-Match with the current ETag',
    conditions: { ifNoneMatch: '"v1"' },
    status: 304,
    headers: { ETag: '"v1"', 'Last-Modified': DATE },
  },
  {
    what: 'If-None-Match wins over Range',
    range: 'bytes=0-9',
    conditions: { ifNoneMatch: '"v1"' },
    status: 304,
    headers: { ETag: '"v1"', 'Last-Modified': DATE },
  },
  {
    what: 'If-Modified-Since the Last-Modified date',
    conditions: { ifModifiedSince: DATE },
    status: 304,
    headers: { ETag: '"v1"', 'Last-Modified': DATE },
  },
  {
    what: 'If-Match with an old ETag',
    range: 'bytes=0-9',
    conditions: { ifMatch: '"v0"' },
    status: 412,
    headers: {},
  },
  {
    what: 'If-Unmodified-Since before Last-Modified',
    conditions: { ifUnmodifiedSince: 'Thu, 01 Jan 2026 00:00:00 GMT' },
    status: 412,
    headers: {},
  },
]);

runTable('planStream: empty, unrangeable and unsized files', [
  { what: 'a 0-byte file', file: { size: 0 }, status: 200, headers: whole('0'), body: 'whole' },
  {
    what: 'a 0-byte file',
    file: { size: 0 },
    range: 'bytes=0-',
    status: 416,
    headers: { 'Content-Range': 'bytes */0' },
  },
  {
    what: 'a 0-byte file',
    file: { size: 0 },
    range: 'bytes=-1',
    status: 416,
    headers: { 'Content-Range': 'bytes */0' },
  },
  {
    what: 'a file that cannot seek',
    file: { rangeable: false },
    range: 'bytes=0-9',
    status: 200,
    headers: { ...whole(), 'Accept-Ranges': 'none' },
    body: 'whole',
  },
  {
    what: 'a file of unknown size, no Content-Length',
    file: { size: undefined },
    range: 'bytes=0-9',
    status: 200,
    headers: { ...REPRESENTATION, 'Accept-Ranges': 'none' },
    body: 'whole',
  },
]);

runTable('planStream: maxRanges', [
  {
    what: 'as many ranges as allowed',
    maxRanges: 2,
    range: 'bytes=0-0,2-2',
    status: 206,
    headers: MULTIPART,
    body: [
      { start: 0, end: 0 },
      { start: 2, end: 2 },
    ],
  },
  {
    what: 'more ranges than allowed, the whole file',
    maxRanges: 2,
    range: 'bytes=0-0,2-2,4-4',
    status: 200,
    headers: ignored(),
    body: 'whole',
  },
  {
    what: 'two ranges where one is allowed',
    maxRanges: 1,
    range: 'bytes=0-0,2-2',
    status: 200,
    headers: ignored(),
    body: 'whole',
  },
]);
