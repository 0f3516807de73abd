/**
 * The choices RFC 9110 leaves to a server, as knobs of the reference model. `RFC_POLICY` is the
 * model's own reading of the RFC; the library's settings, and why each is allowed, are the one
 * table in deviations.ts (docs/testing-model.md explains it).
 */
export interface ModelPolicy {
  /** More range-specs than this (empty ones counted): the Range is ignored (§14.2 MAY ignore). */
  readonly maxRanges: number;
  /** Empty elements of a range-set: skipped (§5.6.1.2), or the whole Range ignored (§14.2). */
  readonly rangeEmptyElements: 'skip' | 'ignore-range';
  /** Positions above 2^53-1: read exactly, or the Range ignored (§14.2 MAY ignore). */
  readonly unsafeNumbers: 'exact' | 'ignore-range';
  /** A non-zero suffix-range of an empty file: the Range ignored, or counted unsatisfiable. */
  readonly emptyFileSuffix: 'ignore-range' | 'unsatisfiable';
  /** Overlapping and adjacent ranges: sent as asked, or coalesced (§15.3.7.2 MAY). */
  readonly coalesce: 'none' | 'overlapping-and-adjacent';
  /**
   * Where a coalesced part goes (§15.3.7.2 SHOULD keep the asked order, except for ranges
   * "coalesced into other ranges"): at its earliest range-spec, or at the earliest one that
   * began it or extended its end (a range wholly inside it lends no position).
   */
  readonly partOrder: 'earliest-spec' | 'extending-spec';
  /** HEAD with Range: ignored (§14.2, range handling is defined for GET) or answered as GET (§9.3.2). */
  readonly headRange: 'ignore' | 'like-get';
  /** Empty elements of If-Match / If-None-Match lists: skipped (§5.6.1.2), or ending the list. */
  readonly etagListEmptyElements: 'skip' | 'end-list';
  /**
   * How date fields are read: `strict` is §5.6.7 (the three formats, nothing else); `lenient`
   * describes a reader that takes any value JavaScript's `Date.parse` reads once it begins like
   * a day name (`Mon, ` or `Mon `), which misses RFC 850 dates (`Monday, 30-Nov-26 …`).
   */
  readonly dateReading: 'strict' | 'lenient';
}

/** The model's reading of the RFC where it leaves a choice: the plainest allowed behaviour. */
export const RFC_POLICY: ModelPolicy = {
  maxRanges: Number.POSITIVE_INFINITY,
  rangeEmptyElements: 'skip',
  unsafeNumbers: 'exact',
  emptyFileSuffix: 'ignore-range',
  coalesce: 'none',
  partOrder: 'earliest-spec',
  headRange: 'ignore',
  etagListEmptyElements: 'skip',
  dateReading: 'strict',
};
