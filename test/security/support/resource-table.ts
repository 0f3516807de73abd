import { BIG_BYTES, type BackendKind } from './harness.ts';

// Range headers shaped to multiply the work or the bytes of an answer, asked of a 1 MiB file
// (support/harness.ts, big.bin) through every backend. `maxBody` bounds what may come back:
// the file once, plus the framing of a multipart answer.

const SIZE = BIG_BYTES.length;

export interface RangeAnswer {
  status: number;
  maxBody: number;
}

export interface RangeShape {
  what: string;
  range: string;
  expect: RangeAnswer;
  per?: Partial<Record<BackendKind, RangeAnswer>>;
}

/** `bytes=0-,5-0,5-1,5-2,…`: the shape of the 2011 Apache Killer, a thousand specs. */
const APACHE_KILLER = `bytes=0-,${Array.from({ length: 999 }, (_, i) => `5-${i}`).join(',')}`;

/** Sixteen ranges each over the whole file: sixteen copies if not coalesced. */
const SIXTEEN_WHOLE = `bytes=${Array.from({ length: 16 }, () => `0-${SIZE - 1}`).join(',')}`;

/** Sixteen ranges of half the file, each one byte further: 8 MiB if sent as asked. */
const SIXTEEN_SHIFTED = `bytes=${Array.from({ length: 16 }, (_, i) => `${i}-${SIZE / 2 + i}`).join(',')}`;

/** A thousand one-byte ranges, disjoint: within no limit but the count. */
const THOUSAND_SMALL = `bytes=${Array.from({ length: 1000 }, (_, i) => `${i * 1000}-${i * 1000}`).join(',')}`;

const whole: RangeAnswer = { status: 200, maxBody: SIZE };
/** A proxy's own error page for a request header over its limit (8 KiB). */
const headerTooLarge = (status: number): RangeAnswer => ({ status, maxBody: 4096 });
/** nginx and Caddy (Go's ServeContent) ignore ranges adding up to more than the file. */
const IGNORE_OVERSIZED = { nginx: whole, auto: whole, caddy: whole } as const;
/** The redirect backend answers before any byte: its 302 has an empty body. */
const REDIRECTED = { redirect: { status: 302, maxBody: 0 } } as const;

export const RANGE_SHAPES: RangeShape[] = [
  // More specs than maxRanges (16): the app answers with the whole file, whatever the backend.
  {
    what: 'a thousand ranges, bytes=0-,5-0,5-1,… (CVE-2011-3192)',
    range: APACHE_KILLER,
    expect: whole,
  },
  {
    what: 'a thousand disjoint one-byte ranges (a 9 KiB header)',
    range: THOUSAND_SMALL,
    expect: whole,
    per: {
      nginx: headerTooLarge(400),
      auto: headerTooLarge(400),
      apache: headerTooLarge(400),
      lighttpd: headerTooLarge(431),
    },
  },
  // Within maxRanges, so offloaded: each proxy answers by its own rules, measured here.
  {
    what: '16 ranges each over the whole 1 MiB file',
    range: SIXTEEN_WHOLE,
    // Streaming coalesces the overlap into one range: the whole file, once, as a 206; so do
    // Apache and lighttpd.
    expect: { status: 206, maxBody: SIZE },
    per: { ...IGNORE_OVERSIZED, ...REDIRECTED },
  },
  {
    what: '16 overlapping half-file ranges, each shifted a byte',
    range: SIXTEEN_SHIFTED,
    expect: { status: 206, maxBody: SIZE / 2 + 16 },
    per: { ...IGNORE_OVERSIZED, ...REDIRECTED },
  },
];
