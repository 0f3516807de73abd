/**
 * The Range header of RFC 9110 §14.1–§14.2, for the reference model only (it imports nothing
 * of the library). Numbers are read as BigInt, so that no length is ever rounded.
 */
import type { ModelPolicy } from './model-policy.ts';

/** An inclusive byte range, as in Content-Range (§14.4). */
export interface ModelRange {
  readonly start: number;
  readonly end: number;
}

/** What a Range header means for a file of a given size. */
export type RangeOutcome =
  | { readonly kind: 'ignore'; readonly why: string }
  | { readonly kind: 'unsatisfiable' }
  | { readonly kind: 'ranges'; readonly ranges: readonly ModelRange[] };

type Spec =
  { kind: 'int'; first: bigint; last: bigint | undefined } | { kind: 'suffix'; length: bigint };

/** §14.1.1 int-range = first-pos "-" [ last-pos ]; suffix-range = "-" suffix-length. */
const INT_RANGE = /^(\d+)-(\d*)$/;
const SUFFIX_RANGE = /^-(\d+)$/;
/** §5.6.1.2: list elements are separated by OWS "," OWS. */
const LIST_SEPARATOR = /[ \t]*,[ \t]*/;
/** §5.6.2 token, for the range unit. */
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * §14.2: an origin MUST ignore a Range whose unit it does not understand, MAY ignore or reject
 * an invalid one (the model ignores it, as it may ignore any Range), and answers 416 when no
 * range-spec is satisfiable.
 */
export function rangeOutcome(header: string, size: number, policy: ModelPolicy): RangeOutcome {
  const equals = header.indexOf('=');
  const unit = header.slice(0, equals);
  if (equals < 0 || !TOKEN.test(unit)) return { kind: 'ignore', why: 'invalid ranges-specifier' };
  // §14.1: range unit names are case-insensitive.
  if (unit.toLowerCase() !== 'bytes') return { kind: 'ignore', why: `unit ${unit}` };
  const elements = header.slice(equals + 1).split(LIST_SEPARATOR);
  const empty = elements.filter((element) => element === '').length;
  // §5.6.1.2: a recipient MUST parse and ignore a reasonable number of empty list elements.
  if (empty > 0 && policy.rangeEmptyElements === 'ignore-range') {
    return { kind: 'ignore', why: 'empty list element (policy)' };
  }
  const specs = elements.filter((element) => element !== '').map(parseSpec);
  // 1#range-spec: at least one.
  if (specs.length === 0 || specs.some((spec) => spec === undefined)) {
    return { kind: 'ignore', why: 'invalid range-spec' };
  }
  if (elements.length > policy.maxRanges)
    return { kind: 'ignore', why: 'too many ranges (policy)' };
  const valid = specs as Spec[];
  if (policy.unsafeNumbers === 'ignore-range' && valid.some(hasUnsafeNumber)) {
    return { kind: 'ignore', why: 'number above 2^53-1 (policy)' };
  }
  return satisfy(valid, size, policy);
}

function parseSpec(element: string): Spec | undefined {
  const int = INT_RANGE.exec(element);
  if (int) {
    const first = BigInt(int[1]!);
    const last = int[2] === '' ? undefined : BigInt(int[2]!);
    // §14.1.1: an int-range is invalid if last-pos is less than first-pos.
    return last !== undefined && last < first ? undefined : { kind: 'int', first, last };
  }
  const suffix = SUFFIX_RANGE.exec(element);
  return suffix ? { kind: 'suffix', length: BigInt(suffix[1]!) } : undefined;
}

function hasUnsafeNumber(spec: Spec): boolean {
  const max = BigInt(Number.MAX_SAFE_INTEGER);
  return spec.kind === 'suffix' ? spec.length > max : spec.first > max || (spec.last ?? 0n) > max;
}

/**
 * §14.1.1: an int-range is satisfiable when first-pos < length, a suffix-range when its length
 * is not zero. §14.1.2: last-pos past the end, or a suffix longer than the file, stop at the end.
 */
function satisfy(specs: Spec[], size: number, policy: ModelPolicy): RangeOutcome {
  const length = BigInt(size);
  const ranges: ModelRange[] = [];
  for (const spec of specs) {
    if (spec.kind === 'int') {
      if (spec.first >= length) continue;
      const last = spec.last === undefined || spec.last >= length ? length - 1n : spec.last;
      ranges.push({ start: Number(spec.first), end: Number(last) });
    } else if (spec.length > 0n) {
      // A satisfiable suffix of an empty file selects zero bytes, which no Content-Range can
      // describe (§14.4: first-pos <= last-pos): the model ignores the Range then (§14.2 MAY).
      if (size === 0) {
        if (policy.emptyFileSuffix === 'unsatisfiable') continue;
        return { kind: 'ignore', why: 'suffix of an empty file' };
      }
      const start = length > spec.length ? length - spec.length : 0n;
      ranges.push({ start: Number(start), end: size - 1 });
    }
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  return { kind: 'ranges', ranges: policy.coalesce === 'none' ? ranges : coalesce(ranges, policy) };
}

/**
 * §15.3.7.2: a server MAY coalesce ranges that overlap or are adjacent, and SHOULD send parts
 * in the order their range-specs were asked, "excluding those ranges that were ... coalesced
 * into other ranges". Which spec a merged part stands for is the policy's `partOrder`.
 */
function coalesce(ranges: ModelRange[], policy: ModelPolicy): ModelRange[] {
  const byStart = ranges
    .map((range, asked) => ({ ...range, asked }))
    .sort((a, b) => a.start - b.start || a.asked - b.asked);
  const merged: { start: number; end: number; position: number }[] = [];
  for (const range of byStart) {
    const last = merged.at(-1);
    if (!last || range.start > last.end + 1) {
      merged.push({ start: range.start, end: range.end, position: range.asked });
    } else if (range.end > last.end || policy.partOrder === 'earliest-spec') {
      last.end = Math.max(last.end, range.end);
      last.position = Math.min(last.position, range.asked);
    }
    // partOrder 'extending-spec': a range wholly inside the part so far is "coalesced into"
    // it and lends it no position.
  }
  return merged.sort((a, b) => a.position - b.position).map(({ start, end }) => ({ start, end }));
}
