/**
 * The one table of where the library's behaviour differs from the model's plain reading of
 * RFC 9110 (`RFC_POLICY`), each row decided from the RFC text: what it says, what the library
 * does, and whether that is allowed. The property tests run the model with `LIBRARY_POLICY`,
 * built from this table alone. docs/testing-model.md explains the table.
 */
import { RFC_POLICY, type ModelPolicy } from './model-policy.ts';

/** One documented difference. */
export interface Deviation {
  /** The policy knob it sets. */
  readonly knob: keyof ModelPolicy;
  readonly value: ModelPolicy[keyof ModelPolicy];
  readonly rfc: string;
  readonly rfcSays: string;
  readonly libraryDoes: string;
  /** `allowed`: a choice the RFC leaves open. `tension`: two RFC texts pull apart. */
  readonly verdict: 'allowed' | 'tension';
  readonly why: string;
}

export const DEVIATIONS: readonly Deviation[] = [
  {
    knob: 'maxRanges',
    value: 16,
    rfc: '§14.2',
    rfcSays:
      'A server MAY ignore the Range header field; it MAY ignore or reject many small or overlapping ranges.',
    libraryDoes:
      'More than `maxRanges` (16) range-specs, empty ones counted: 200 with the whole file.',
    verdict: 'allowed',
    why: '"MAY ignore the Range header field" covers any count; the cap answers CVE-2011-3192.',
  },
  {
    knob: 'rangeEmptyElements',
    value: 'ignore-range',
    rfc: '§5.6.1.2, §14.2',
    rfcSays: 'A recipient MUST parse and ignore a reasonable number of empty list elements.',
    libraryDoes: 'A range-set with an empty element (`bytes=0-1,,4-5`): 200 with the whole file.',
    verdict: 'allowed',
    why: 'The list is parsed and the Range then ignored, which §14.2 allows for any Range.',
  },
  {
    knob: 'unsafeNumbers',
    value: 'ignore-range',
    rfc: '§14.2',
    rfcSays: 'first-pos, last-pos and suffix-length are 1*DIGIT, with no upper bound.',
    libraryDoes: 'A position above 2^53-1: 200 with the whole file.',
    verdict: 'allowed',
    why: 'Ignoring is always allowed, and better than a rounded position that selects other bytes.',
  },
  {
    knob: 'emptyFileSuffix',
    value: 'unsatisfiable',
    rfc: '§14.1.1, §14.4',
    rfcSays: 'A suffix-range with a non-zero length is satisfiable, even on an empty file.',
    libraryDoes: 'On a 0-byte file, `bytes=-5` is answered 416 `bytes */0`.',
    verdict: 'tension',
    why:
      'No 206 can carry zero bytes (Content-Range needs first <= last), so the RFC has no ' +
      'partial answer; 416 tells the client its length, 200 would be the other choice.',
  },
  {
    knob: 'coalesce',
    value: 'overlapping-and-adjacent',
    rfc: '§15.3.7.2',
    rfcSays:
      'A server MAY coalesce any of the ranges that overlap, or that are separated by a small gap.',
    libraryDoes: 'Overlapping and adjacent ranges become one part (range-parser `combine`).',
    verdict: 'allowed',
    why: 'Explicitly allowed; adjacent ranges are a gap of zero.',
  },
  {
    knob: 'partOrder',
    value: 'extending-spec',
    rfc: '§15.3.7.2',
    rfcSays:
      'Parts SHOULD follow the order of the range-specs, excluding ranges coalesced into others.',
    libraryDoes:
      'A coalesced part sits at the earliest range-spec that began it or extended its end; a ' +
      'range wholly inside another is "coalesced into" it and lends it no position.',
    verdict: 'allowed',
    why: 'The RFC excludes coalesced ranges from the order without saying which one a merged part stands for.',
  },
  {
    knob: 'headRange',
    value: 'like-get',
    rfc: '§9.3.2, §14.2',
    rfcSays:
      '§14.2: GET is the only method with range handling. §9.3.2: HEAD is identical to GET ' +
      'except that no content is sent, and SHOULD send the header fields GET would.',
    libraryDoes: 'HEAD with Range answers 206 (or 416) with the headers GET would get.',
    verdict: 'tension',
    why: 'HEAD tells a client what the GET would answer, as Apache and nginx do; both readings are common.',
  },
];

/** The model's policy for this library: `RFC_POLICY` with every row above applied. */
export const LIBRARY_POLICY: ModelPolicy = Object.freeze(
  Object.fromEntries([
    ...Object.entries(RFC_POLICY),
    ...DEVIATIONS.map((row) => [row.knob, row.value]),
  ]) as unknown as ModelPolicy,
);
