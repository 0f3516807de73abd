/**
 * Offload headers seen by a client: the proxy did not act on one (which fault that is depends
 * on the header and the proxy), or passed one on beside the file.
 */
import type { DiagnosisId } from './diagnoses.ts';
import { DoctorRequestError, type DoctorResponse } from './http-request.ts';
import { fail, pass, type Answer, type DoctorProxy, type Judgement } from './verdict.ts';

/** Offload headers that must never reach a client. */
const OFFLOAD_HEADER = /^(x-accel-.*|x-sendfile.*|x-offload-url|x-lighttpd-send-file)$/;

/**
 * The offload headers an answer carries, lower case.
 *
 * @example
 * leakedHeaders(answer); // ['x-sendfile']
 */
export function leakedHeaders(answer: DoctorResponse): string[] {
  return Object.keys(answer.headers).filter((name) => OFFLOAD_HEADER.test(name));
}

/**
 * Why the proxy passed an offload header on instead of acting on it.
 *
 * @example
 * unhandledOffload('x-sendfile', 'apache'); // 'apache-xsendfile-off'
 */
export function unhandledOffload(header: string, proxy: DoctorProxy | undefined): DiagnosisId {
  if (header === 'x-accel-redirect') {
    if (proxy === 'caddy') return 'caddy-handle-response-missing';
    if (proxy === 'apache' || proxy === 'lighttpd') return 'backend-proxy-mismatch';
  }
  if (header === 'x-sendfile') {
    if (proxy === 'apache') return 'apache-xsendfile-off';
    if (proxy === 'lighttpd') return 'lighttpd-x-sendfile-off';
    if (proxy === 'nginx' || proxy === 'caddy') return 'backend-proxy-mismatch';
  }
  return 'offload-header-not-handled';
}

/** The offload header an answer carries with an empty body: the proxy did not act on it. */
export function unhandled(answer: DoctorResponse): string | undefined {
  if (answer.body.length > 0) return undefined;
  return ['x-accel-redirect', 'x-sendfile'].find((name) => answer.headers[name] !== undefined);
}

/**
 * Check 4: no offload or `X-Accel-*` header reaches the client.
 *
 * @example
 * judgeLeaks([answer, rangeAnswer], 'apache');
 */
export function judgeLeaks(answers: readonly Answer[], proxy: DoctorProxy | undefined): Judgement {
  const received = answers.filter(
    (answer): answer is DoctorResponse => !(answer instanceof DoctorRequestError),
  );
  if (received.length === 0) return { verdict: 'not run', detail: 'no answer through the proxy' };
  for (const answer of received) {
    const leaked = leakedHeaders(answer);
    if (leaked.length === 0) continue;
    const header = unhandled(answer);
    const id = header === undefined ? 'offload-header-leaked' : unhandledOffload(header, proxy);
    return fail(id, `the client received ${leaked.join(', ')}`);
  }
  return pass('none of X-Accel-*, X-Sendfile*, X-Offload-Url');
}
