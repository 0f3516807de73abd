/**
 * Fixed cases from the property tests: requests once found in disagreement with the model, or
 * pinning a row of deviations.ts. They run on every target at every `npm test`, against the
 * model with the library's documented policy and nothing else: a case of a known defect
 * (below) fails until the defect is fixed. A new failing seed's minimal counterexample goes
 * here, with the seed that found it.
 */
import type { ModelPolicy } from './model-policy.ts';

export interface Regression {
  /** The size of the file to ask (one of SIZES). */
  readonly size: number;
  readonly method: 'GET' | 'HEAD';
  readonly headers: Readonly<Record<string, string>>;
  /** What it found or pins, and the seed that found it. */
  readonly note: string;
}

/**
 * A library defect the suite found: what the RFC requires, and the policy knob under which the
 * model reproduces the library's answer. While it is listed, the property runs accept either
 * the RFC's answer or the defect's and count the defect's (printed after the run), so that one
 * known defect does not hide the next; its regression cases fail regardless.
 */
export interface KnownDefect {
  readonly id: string;
  readonly rfc: string;
  readonly summary: string;
  readonly knob: Partial<ModelPolicy>;
}

export const KNOWN_DEFECTS: readonly KnownDefect[] = [
  {
    id: 'empty-list-elements',
    rfc: '§5.6.1.2, §13.1.1, §13.1.2',
    summary:
      'An empty element in If-Match / If-None-Match ends the list: the tags after it are never ' +
      'compared ("a recipient MUST parse and ignore a reasonable number of empty list elements").',
    knob: { etagListEmptyElements: 'end-list' },
  },
  {
    id: 'date-formats',
    rfc: '§5.6.7, §13.1.3, §13.1.4, §13.1.5',
    summary:
      'RFC 850 dates are not read (a recipient MUST accept all three formats), and values that ' +
      'are not HTTP-dates are read as dates by Date.parse ("MUST ignore … not a valid HTTP-date").',
    knob: { dateReading: 'lenient' },
  },
];

export const REGRESSIONS: readonly Regression[] = [];
