import { expect } from 'chai';
import { formatHttpDate, parseHttpDate } from '../../src/http/http-date.ts';

describe('HTTP-date (RFC 9110 §5.6.7), read strictly', () => {
  const now = new Date('2026-12-01T00:00:00Z');
  const nov1994 = Date.UTC(1994, 10, 6, 8, 49, 37) / 1000;
  const valid: [string, number][] = [
    ['Sun, 06 Nov 1994 08:49:37 GMT', nov1994],
    ['Sunday, 06-Nov-94 08:49:37 GMT', nov1994],
    ['Sun Nov  6 08:49:37 1994', nov1994],
    ['Sun Nov 16 08:49:37 1994', nov1994 + 10 * 86400],
    ['Monday, 30-Nov-26 09:20:30 GMT', Date.UTC(2026, 10, 30, 9, 20, 30) / 1000],
    // Two digits more than 50 years ahead of now (2026) are the last century.
    ['Wednesday, 01-Jan-76 00:00:00 GMT', Date.UTC(2076, 0, 1) / 1000],
    ['Saturday, 01-Jan-77 00:00:00 GMT', Date.UTC(1977, 0, 1) / 1000],
    ['Wed, 31 Dec 2025 23:59:60 GMT', Date.UTC(2026, 0, 1) / 1000],
    ['Thu, 29 Feb 2024 12:00:00 GMT', Date.UTC(2024, 1, 29, 12) / 1000],
  ];
  for (const [value, seconds] of valid) {
    it(`reads ${JSON.stringify(value)}`, () => {
      expect(parseHttpDate(value, now)).to.equal(seconds);
    });
  }

  const invalid = [
    'Sun, 06 Nov 1994 08:49:37 UTC',
    'Sun, 06 Nov 1994 08:49:37',
    'sun, 06 nov 1994 08:49:37 GMT',
    'Sun, 6 Nov 1994 08:49:37 GMT',
    'Sun, 06 Nov 94 08:49:37 GMT',
    'Sun, 31 Nov 1994 08:49:37 GMT',
    'Fri, 29 Feb 2025 12:00:00 GMT',
    'Sun, 06 Nov 1994 24:00:00 GMT',
    'Sun, 06 Nov 1994 08:60:00 GMT',
    'Sun, 06 Nov 1994 08:49:61 GMT',
    'Sun, 06 Nov 1994 8:49:37 GMT',
    'Sun,  06 Nov 1994 08:49:37 GMT',
    'Sun 06 Nov 1994 08:49:37 GMT',
    'Sun, 06 Nov 1994 08:49:37 GMT extra',
    'Sunday, 06-Nov-1994 08:49:37 GMT',
    'Sun, 06-Nov-94 08:49:37 GMT',
    'Sun Nov 6 08:49:37 1994',
    'Sun Nov  6 08:49:37 94',
    '1994-11-06T08:49:37Z',
    '784111777',
    '"an-etag"',
    '',
  ];
  for (const value of invalid) {
    it(`refuses ${JSON.stringify(value)}`, () => {
      expect(parseHttpDate(value, now)).to.equal(undefined);
    });
  }
});

describe('HTTP-date, written (IMF-fixdate, RFC 9110 §5.6.7)', () => {
  it('formats each date, the same date again from its kept text, and reads back', () => {
    const dates = [new Date(0), new Date('2026-12-02T04:05:06Z'), new Date(0)];
    for (const date of dates) {
      expect(formatHttpDate(date)).to.equal(date.toUTCString());
      expect(formatHttpDate(date)).to.equal(date.toUTCString());
      expect(parseHttpDate(formatHttpDate(date))).to.equal(date.getTime() / 1000);
    }
  });
});
