import { expect } from 'chai';
import {
  evaluatePreconditions,
  ifRangeAllowsPartial,
  toConditionalHeaders,
  type ConditionalHeaders,
  type PreconditionOutcome,
} from '../../src/http/preconditions.ts';

const MODIFIED = new Date('2026-01-02T03:04:05.678Z');
const SAME = 'Fri, 02 Jan 2026 03:04:05 GMT';
const EARLIER = 'Fri, 02 Jan 2026 03:04:04 GMT';
const LATER = 'Fri, 02 Jan 2026 03:04:06 GMT';
const validators = { etag: '"v1"', lastModified: MODIFIED };

describe('evaluatePreconditions (RFC 9110 §13.2.2)', () => {
  const cases: [string, string, ConditionalHeaders, PreconditionOutcome][] = [
    ['no conditions', 'GET', {}, 'proceed'],
    ['If-Match equal', 'GET', { ifMatch: '"v1"' }, 'proceed'],
    ['If-Match in a list', 'GET', { ifMatch: '"x", "v1"' }, 'proceed'],
    ['If-Match *', 'GET', { ifMatch: '*' }, 'proceed'],
    ['If-Match other', 'GET', { ifMatch: '"v2"' }, 'precondition-failed'],
    ['If-Match weak (strong comparison)', 'GET', { ifMatch: 'W/"v1"' }, 'precondition-failed'],
    ['If-Unmodified-Since equal', 'GET', { ifUnmodifiedSince: SAME }, 'proceed'],
    ['If-Unmodified-Since later', 'GET', { ifUnmodifiedSince: LATER }, 'proceed'],
    ['If-Unmodified-Since earlier', 'GET', { ifUnmodifiedSince: EARLIER }, 'precondition-failed'],
    ['If-Unmodified-Since invalid (ignored)', 'GET', { ifUnmodifiedSince: 'yesterday' }, 'proceed'],
    [
      'If-Match wins over If-Unmodified-Since',
      'GET',
      { ifMatch: '"v1"', ifUnmodifiedSince: EARLIER },
      'proceed',
    ],
    ['If-None-Match equal', 'GET', { ifNoneMatch: '"v1"' }, 'not-modified'],
    [
      'If-None-Match weak equal (weak comparison)',
      'HEAD',
      { ifNoneMatch: 'W/"v1"' },
      'not-modified',
    ],
    ['If-None-Match *', 'GET', { ifNoneMatch: '*' }, 'not-modified'],
    ['If-None-Match other', 'GET', { ifNoneMatch: '"v2"' }, 'proceed'],
    ['If-None-Match equal on POST', 'POST', { ifNoneMatch: '"v1"' }, 'precondition-failed'],
    ['If-Modified-Since equal', 'GET', { ifModifiedSince: SAME }, 'not-modified'],
    ['If-Modified-Since later', 'GET', { ifModifiedSince: LATER }, 'not-modified'],
    ['If-Modified-Since earlier', 'GET', { ifModifiedSince: EARLIER }, 'proceed'],
    ['If-Modified-Since on POST (ignored)', 'POST', { ifModifiedSince: SAME }, 'proceed'],
    ['If-Modified-Since invalid (ignored)', 'GET', { ifModifiedSince: '"v1"' }, 'proceed'],
    [
      'If-None-Match other wins over If-Modified-Since',
      'GET',
      { ifNoneMatch: '"v2"', ifModifiedSince: SAME },
      'proceed',
    ],
    [
      'If-Match fails before If-None-Match',
      'GET',
      { ifMatch: '"v2"', ifNoneMatch: '"v1"' },
      'precondition-failed',
    ],
  ];
  for (const [what, method, headers, outcome] of cases) {
    it(`${what} → ${outcome}`, () => {
      expect(evaluatePreconditions(method, headers, validators)).to.equal(outcome);
    });
  }

  it('fails If-Match when the representation has no ETag, even for *', () => {
    expect(evaluatePreconditions('GET', { ifMatch: '*' }, {})).to.equal('precondition-failed');
  });

  it('proceeds on If-None-Match when the representation has no ETag', () => {
    expect(evaluatePreconditions('GET', { ifNoneMatch: '"v1"' }, {})).to.equal('proceed');
  });
});

describe('ifRangeAllowsPartial (RFC 9110 §13.1.5)', () => {
  const cases: [string | undefined, boolean][] = [
    [undefined, true],
    ['"v1"', true],
    ['"v2"', false],
    ['W/"v1"', false],
    [SAME, true],
    [LATER, false],
    [EARLIER, false],
    ['garbage', false],
    ['"v1', false],
  ];
  for (const [value, allowed] of cases) {
    it(`${String(value)} → ${allowed ? 'partial' : 'whole file'}`, () => {
      expect(ifRangeAllowsPartial(value, validators)).to.equal(allowed);
    });
  }

  it('never matches a weak validator of ours', () => {
    expect(ifRangeAllowsPartial('W/"v1"', { etag: 'W/"v1"' })).to.equal(false);
  });
});

describe('toConditionalHeaders', () => {
  it("reads Node's lower-case header names, an empty value as an absent header", () => {
    const headers = { 'if-match': '"a"', 'if-range': '', 'if-none-match': undefined };
    expect(toConditionalHeaders(headers)).to.deep.equal({
      ifMatch: '"a"',
      ifNoneMatch: undefined,
      ifModifiedSince: undefined,
      ifUnmodifiedSince: undefined,
      ifRange: undefined,
    });
  });
});
