import parseRangeHeader from 'range-parser';
import type { ByteRange } from '../storage.ts';

/**
 * More range-specs than this in one request are answered with the whole file: each range costs
 * an open and a multipart part, and unbounded lists were a denial-of-service vector
 * (CVE-2011-3192).
 */
export const DEFAULT_MAX_RANGES = 16;

/** What to do with a Range header (RFC 9110 §14.2). */
export type RangeDecision =
  { kind: 'full' } | { kind: 'unsatisfiable' } | { kind: 'partial'; ranges: ByteRange[] };

/** RFC 9110 §14.1.1 range-spec: int-range `first-[last]` or suffix-range `-length`, with OWS. */
const RANGE_SPEC = /^[ \t]*(\d*)-(\d*)[ \t]*$/;

/**
 * Decides which bytes a Range header asks for. Ignored (`full`): absent, another unit,
 * malformed, or too many ranges. `unsatisfiable` when no range overlaps the file. Overlapping
 * and adjacent ranges are coalesced, kept in the order they were asked.
 *
 * `range-parser` resolves suffix and open ranges and coalesces; it treats an invalid spec such
 * as `5-3` as unsatisfiable, has no cap and does not check the unit, so that is checked first.
 *
 * @example
 * decideRange('bytes=0-9', 37); // { kind: 'partial', ranges: [{ start: 0, end: 9 }] }
 */
export function decideRange(
  header: string | undefined,
  size: number,
  options: { maxRanges?: number } = {},
): RangeDecision {
  if (header === undefined || !/^bytes=/i.test(header)) return { kind: 'full' };
  const specs = header.slice(6).split(',');
  if (specs.length > (options.maxRanges ?? DEFAULT_MAX_RANGES)) return { kind: 'full' };
  if (!specs.every(isValidSpec)) return { kind: 'full' };
  const resolvable = specs.map((spec) => clampSuffix(spec, size)).join(',');
  const parsed = parseRangeHeader(size, `bytes=${resolvable}`, { combine: true });
  if (parsed === -2) return { kind: 'full' };
  if (parsed === -1 || parsed.length === 0) return { kind: 'unsatisfiable' };
  return { kind: 'partial', ranges: parsed.map(({ start, end }) => ({ start, end })) };
}

function isValidSpec(spec: string): boolean {
  const match = RANGE_SPEC.exec(spec);
  if (!match) return false;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return false;
  if (!isSafeNumber(first) || !isSafeNumber(last)) return false;
  return first === '' || last === '' || Number(last) >= Number(first);
}

/**
 * RFC 9110 §14.1.2: a suffix longer than the file selects the whole file, where range-parser
 * would compute a negative start and call it unsatisfiable.
 */
function clampSuffix(spec: string, size: number): string {
  const suffix = /^[ \t]*-(\d+)[ \t]*$/.exec(spec)?.[1];
  return suffix !== undefined && size > 0 && Number(suffix) > size ? '0-' : spec;
}

/** Digits past 2^53 would round and select wrong bytes; such a header is ignored instead. */
function isSafeNumber(digits: string): boolean {
  return digits === '' || Number.isSafeInteger(Number(digits));
}

/**
 * `Content-Range` of a 206 part (RFC 9110 §14.4).
 *
 * @example
 * contentRange({ start: 0, end: 9 }, 37); // 'bytes 0-9/37'
 */
export function contentRange(range: ByteRange, size: number): string {
  return `bytes ${range.start}-${range.end}/${size}`;
}

/**
 * `Content-Range` of a 416 answer (RFC 9110 §15.5.17).
 *
 * @example
 * unsatisfiedRange(37); // 'bytes *\/37'
 */
export function unsatisfiedRange(size: number): string {
  return `bytes */${size}`;
}
