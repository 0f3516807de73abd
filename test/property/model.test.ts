import { expect } from 'chai';
import { formatHttpDate, parseHttpDateStrict } from './model-dates.ts';
import { RFC_POLICY } from './model-policy.ts';
import { expectResponse, type ModelFile } from './model.ts';
import { rangeOutcome } from './model-ranges.ts';

/** The model checked by hand on the RFC's own examples, before it judges the library. */
describe('property: the reference model', () => {
  const file: ModelFile = {
    size: 10000,
    etag: '"xyzzy"',
    lastModified: new Date('1994-11-06T08:49:37.500Z'),
    rangeable: true,
  };
  const status = (headers: Record<string, string>, method: 'GET' | 'HEAD' = 'GET') =>
    expectResponse(file, { method, headers }, RFC_POLICY).status;

  it('reads the three HTTP-date formats of §5.6.7 as the same instant, and nothing else', () => {
    const seconds = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;
    for (const value of [
      'Sun, 06 Nov 1994 08:49:37 GMT',
      'Sunday, 06-Nov-94 08:49:37 GMT',
      'Sun Nov  6 08:49:37 1994',
    ]) {
      expect(parseHttpDateStrict(value), value).to.equal(seconds);
    }
    for (const value of ['Sun, 06 Nov 1994 08:49:37 UTC', 'sun, 06 nov 1994 08:49:37 gmt', '0']) {
      expect(parseHttpDateStrict(value), value).to.equal(undefined);
    }
    expect(formatHttpDate(seconds, 'asctime')).to.equal('Sun Nov  6 08:49:37 1994');
  });

  it('resolves the range examples of §14.1.2 on a 10000-byte representation', () => {
    const ranges = (header: string) => rangeOutcome(header, 10000, RFC_POLICY);
    expect(ranges('bytes=0-499')).to.deep.equal({
      kind: 'ranges',
      ranges: [{ start: 0, end: 499 }],
    });
    expect(ranges('bytes=9500-')).to.deep.equal({
      kind: 'ranges',
      ranges: [{ start: 9500, end: 9999 }],
    });
    expect(ranges('bytes=-500')).to.deep.equal({
      kind: 'ranges',
      ranges: [{ start: 9500, end: 9999 }],
    });
    expect(ranges('bytes=0-0,-1')).to.deep.equal({
      kind: 'ranges',
      ranges: [
        { start: 0, end: 0 },
        { start: 9999, end: 9999 },
      ],
    });
    expect(ranges('bytes=10000-')).to.deep.equal({ kind: 'unsatisfiable' });
    expect(ranges('bytes=5-3').kind).to.equal('ignore');
    expect(ranges('bytes=0-1,,2-3').kind).to.equal('ranges');
  });

  it('evaluates preconditions in the order of §13.2.2', () => {
    expect(status({ 'if-match': '"other"', 'if-none-match': '"xyzzy"' })).to.equal(412);
    expect(status({ 'if-match': 'W/"xyzzy"' })).to.equal(412);
    expect(status({ 'if-none-match': 'W/"xyzzy"' })).to.equal(304);
    expect(status({ 'if-none-match': '*' }, 'HEAD')).to.equal(304);
    // If-Modified-Since is not looked at when If-None-Match is present.
    expect(
      status({ 'if-none-match': '"other"', 'if-modified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' }),
    ).to.equal(200);
    expect(status({ 'if-modified-since': 'Sun, 06 Nov 1994 08:49:37 GMT' })).to.equal(304);
    expect(status({ 'if-unmodified-since': 'Sun, 06 Nov 1994 08:49:36 GMT' })).to.equal(412);
    expect(status({ 'if-unmodified-since': 'not a date' })).to.equal(200);
  });

  it('serves ranges only when If-Range matches strongly or by the exact date (§13.1.5)', () => {
    const range = { range: 'bytes=0-9' };
    expect(status({ ...range, 'if-range': '"xyzzy"' })).to.equal(206);
    expect(status({ ...range, 'if-range': 'W/"xyzzy"' })).to.equal(200);
    expect(status({ ...range, 'if-range': 'Sun, 06 Nov 1994 08:49:37 GMT' })).to.equal(206);
    expect(status({ ...range, 'if-range': 'Sun, 06 Nov 1994 08:49:38 GMT' })).to.equal(200);
    expect(status({ ...range, 'if-range': 'garbage' })).to.equal(200);
    expect(status({ range: 'bytes=20000-' })).to.equal(416);
    expect(status({ range: 'items=0-9' })).to.equal(200);
  });
});
