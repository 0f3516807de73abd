/** What a check concludes, and the shapes every judgement shares. */
import type { DiagnosisId } from './diagnoses.ts';
import type { DoctorRequestError, DoctorResponse } from './http-request.ts';

/** The proxies the doctor tells apart (from `Server`, or `--proxy`). */
export type DoctorProxy = 'nginx' | 'apache' | 'lighttpd' | 'caddy';

/** An answer, or why there was none. */
export type Answer = DoctorResponse | DoctorRequestError;

/** A check's outcome: `n/a` when it does not apply, `not run` when an earlier one failed. */
export type Verdict = 'pass' | 'fail' | 'n/a' | 'not run';

/** A judgement: the verdict, what was seen, and the diagnosis when it failed. */
export interface Judgement {
  /** Whether the check holds. */
  readonly verdict: Verdict;
  /** What the doctor saw, in a few words (a status, a header, a byte count). */
  readonly detail: string;
  /** Why it failed: an entry of `DIAGNOSES`; absent when the check holds. */
  readonly diagnosis?: DiagnosisId;
}

/** A check that holds, with what was seen. */
export const pass = (detail: string): Judgement => ({ verdict: 'pass', detail });
/** A check that failed, the diagnosis that explains it, and what was seen. */
export const fail = (diagnosis: DiagnosisId, detail: string): Judgement => ({
  verdict: 'fail',
  detail,
  diagnosis,
});
