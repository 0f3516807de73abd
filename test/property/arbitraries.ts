/**
 * Generated requests (fast-check) for the property tests: Range, If-Range, If-Match,
 * If-None-Match, If-Modified-Since and If-Unmodified-Since around one file's size and
 * validators, on GET and HEAD.
 */
import fc from 'fast-check';
import { formatHttpDate } from './model-dates.ts';

/** What the generators need to know of a file, to aim near its edges and validators. */
export interface FileFacts {
  readonly size: number;
  readonly etag: string;
  /** Last-Modified, in whole seconds since the epoch. */
  readonly lastModified: number;
}

/** One generated request. */
export interface GeneratedRequest {
  readonly method: 'GET' | 'HEAD';
  readonly headers: Readonly<Record<string, string>>;
}

/** A byte position near the edges that matter: 0, the end of the file, one past it. */
function position(size: number): fc.Arbitrary<number> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.integer({ min: 0, max: Math.max(0, size + 2) }) },
    { weight: 2, arbitrary: fc.constantFrom(0, 1, size - 1, size, size + 1).filter((n) => n >= 0) },
  );
}

const HUGE = ['99999999999999999999', String(2 ** 53), String(2 ** 53 - 1), '1000000000000000'];

/** One range-spec (§14.1.1): mostly int-ranges, open and suffix ranges; now and then huge or backwards. */
function rangeSpec(size: number): fc.Arbitrary<string> {
  const length = fc.oneof(
    { weight: 3, arbitrary: fc.nat(16) },
    { weight: 1, arbitrary: fc.nat(size + 4) },
  );
  return fc.oneof(
    { weight: 16, arbitrary: fc.tuple(position(size), length).map(([a, n]) => `${a}-${a + n}`) },
    { weight: 4, arbitrary: position(size).map((a) => `${a}-`) },
    { weight: 4, arbitrary: position(size).map((n) => `-${n}`) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom(...HUGE), fc.constantFrom('0-%', '%-', '-%'))
        .map(([n, shape]) => shape.replace('%', n)),
    },
    {
      weight: 1,
      arbitrary: fc
        .tuple(position(size), fc.integer({ min: 1, max: 5 }))
        .map(([a, n]) => `${a + n}-${a}`),
    },
  );
}

const MALFORMED_RANGES = [
  'bytes=',
  'bytes=-',
  'bytes=abc',
  'bytes=1-2-3',
  'bytes=0x10-20',
  'bytes=+1-2',
  'bytes=--1',
  'bytes=1--2',
  'bytes 0-1',
  'bytes=0-1;a=b',
  'bytes=1.5-2',
  '=0-1',
  'items=0-1',
  'bytes=0 -1',
  'bytes=0- 1',
  'none',
];

/** Separators of list elements: OWS "," OWS (§5.6.1.2), now and then an empty element. */
const SEPARATORS = fc.oneof(
  { weight: 12, arbitrary: fc.constantFrom(',', ',', ', ', ' ,', ' , ') },
  { weight: 1, arbitrary: fc.constantFrom(',,', ', ,', ' ,,') },
);

/** Two to six ranges that neither overlap nor touch, in ascending, descending or mixed order. */
function disjointRanges(size: number): fc.Arbitrary<string> {
  // Tiny files have few distinct positions: ask no more of them than there are.
  const distinct = size + 3;
  const ends = fc.uniqueArray(fc.nat(size + 2), {
    minLength: Math.min(4, distinct),
    maxLength: Math.min(12, distinct),
  });
  return fc
    .tuple(ends, fc.constantFrom('ascending', 'descending', 'mixed'))
    .map(([points, order]) => {
      const sorted = [...points].sort((a, b) => a - b);
      const specs: string[] = [];
      for (let i = 0; i + 1 < sorted.length; i += 2) specs.push(`${sorted[i]}-${sorted[i + 1]}`);
      if (order === 'descending') specs.reverse();
      if (order === 'mixed') specs.push(specs.shift()!);
      return specs.join(',');
    });
}

/** A Range header: one spec, several (overlapping, out of order, many), or malformed. */
export function rangeHeader(size: number): fc.Arbitrary<string> {
  const unit = fc.constantFrom('bytes', 'bytes', 'bytes', 'Bytes', 'BYTES');
  const specs = fc.tuple(rangeSpec(size), SEPARATORS);
  const several = fc
    .oneof(
      { weight: 5, arbitrary: fc.array(specs, { minLength: 2, maxLength: 5 }) },
      { weight: 1, arbitrary: fc.array(specs, { minLength: 6, maxLength: 20 }) },
    )
    .map((specs) => specs.map(([spec, sep], i) => (i === 0 ? spec : sep + spec)).join(''));
  return fc.oneof(
    { weight: 5, arbitrary: fc.tuple(unit, rangeSpec(size)).map(([u, s]) => `${u}=${s}`) },
    { weight: 3, arbitrary: fc.tuple(unit, disjointRanges(size)).map(([u, s]) => `${u}=${s}`) },
    { weight: 4, arbitrary: fc.tuple(unit, several).map(([u, s]) => `${u}=${s}`) },
    { weight: 1, arbitrary: fc.constantFrom(...MALFORMED_RANGES) },
  );
}

/** Seconds around Last-Modified: the same second, one off, a day off. */
function dateAround(lastModified: number): fc.Arbitrary<string> {
  const delta = fc.constantFrom(0, 0, 0, -1, 1, -86400, 86400, -3600);
  const format = fc.constantFrom('imf', 'imf', 'imf', 'rfc850', 'asctime') as fc.Arbitrary<
    'imf' | 'rfc850' | 'asctime'
  >;
  return fc.tuple(delta, format).map(([d, f]) => formatHttpDate(lastModified + d, f));
}

/** Values that are not HTTP-dates (§5.6.7), some of them close to one. */
function malformedDate(lastModified: number): fc.Arbitrary<string> {
  const imf = formatHttpDate(lastModified, 'imf');
  return fc.constantFrom(
    'not a date',
    '0',
    String(lastModified),
    new Date(lastModified * 1000).toISOString(),
    imf.replace(' GMT', ''),
    imf.replace('GMT', '+0000'),
    imf.replace('GMT', 'UTC'),
    imf.toLowerCase(),
    `${imf}, ${imf}`,
    imf.replace(/, \d\d /, ', 32 '),
    imf.replace(/ \d\d:/, ' 25:'),
  );
}

function date(lastModified: number): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 4, arbitrary: dateAround(lastModified) },
    { weight: 1, arbitrary: malformedDate(lastModified) },
  );
}

/** An entity tag: the file's own, another, with a comma inside, each strong or weak. */
function entityTag(etag: string): fc.Arbitrary<string> {
  const opaque = fc.constantFrom(etag, etag, '"other"', '"a,b"', '""', `"${etag.slice(1, -1)}x"`);
  return fc.tuple(fc.boolean(), opaque).map(([weak, tag]) => (weak ? `W/${tag}` : tag));
}

/** If-Match / If-None-Match: `*` or a list, with OWS and the odd empty element (§5.6.1.2). */
function entityTagList(etag: string): fc.Arbitrary<string> {
  const list = fc
    .array(fc.tuple(entityTag(etag), SEPARATORS), { minLength: 1, maxLength: 4 })
    .map((tags) => tags.map(([tag, sep], i) => (i === 0 ? tag : sep + tag)).join(''));
  return fc.oneof({ weight: 1, arbitrary: fc.constant('*') }, { weight: 6, arbitrary: list });
}

/** If-Range: a strong or weak tag, a date (exact, earlier, later), or garbage. */
function ifRange(facts: FileFacts): fc.Arbitrary<string> {
  return fc.oneof(
    { weight: 3, arbitrary: entityTag(facts.etag) },
    { weight: 3, arbitrary: date(facts.lastModified) },
    { weight: 1, arbitrary: fc.constantFrom('garbage', '"unterminated', 'W/', '12345') },
  );
}

/** A request on `facts`' file: Range four times in five, each conditional header one time in four or five. */
export function generatedRequest(facts: FileFacts): fc.Arbitrary<GeneratedRequest> {
  // Shrinks towards the header being absent, so counterexamples keep only the headers they need.
  const maybe = (arbitrary: fc.Arbitrary<string>, present = 1, absent = 4) =>
    fc.oneof(
      { withCrossShrink: true },
      { weight: absent, arbitrary: fc.constant(undefined) },
      { weight: present, arbitrary },
    );
  return fc
    .record({
      method: fc.oneof(
        { withCrossShrink: true },
        { weight: 3, arbitrary: fc.constant('GET' as const) },
        { weight: 1, arbitrary: fc.constant('HEAD' as const) },
      ),
      range: maybe(rangeHeader(facts.size), 4, 1),
      'if-range': maybe(ifRange(facts), 1, 3),
      'if-match': maybe(entityTagList(facts.etag)),
      'if-none-match': maybe(entityTagList(facts.etag)),
      'if-modified-since': maybe(date(facts.lastModified)),
      'if-unmodified-since': maybe(date(facts.lastModified)),
    })
    .map(({ method, ...all }) => ({
      method,
      headers: Object.fromEntries(
        Object.entries(all).filter((entry): entry is [string, string] => entry[1] !== undefined),
      ),
    }));
}
