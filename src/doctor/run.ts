import { diagnosis, type Diagnosis, type DiagnosisId } from './diagnoses.ts';
import {
  doctorRequest,
  headerValue,
  DoctorRequestError,
  type DoctorResponse,
} from './http-request.ts';
import {
  judgeApp,
  judgeAppAnswer,
  judgeInternal,
  judgeLeaks,
  judgePublic,
  judgeRange,
  judgeSpoof,
  PROBE_RANGE,
  proxyFromServer,
  SPOOFED_HEADERS,
  type Answer,
  type AppDelivery,
  type DoctorProxy,
  type Expectation,
  type Judgement,
} from './judge.ts';
import { parseProbeHeader, PROBE_HEADER, probeContent, type ProbeDelivery } from './probe.ts';
import { fail } from './verdict.ts';

/** Options of `runDoctor()`, as the command's flags give them. */
export interface DoctorOptions {
  /** The health-check route on the app itself, bypassing the proxy. */
  readonly app: string | URL;
  /** The same route through the proxy, as clients reach it. Default: `app` (no proxy). */
  readonly public?: string | URL;
  /** Milliseconds per request. Default 5000. */
  readonly timeoutMs?: number;
  /** Accept a self-signed certificate on `public`. */
  readonly insecure?: boolean;
  /** The delivery the app must choose; without it any delivery is accepted and reported. */
  readonly expect?: Expectation;
  /** The proxy in front, when its `Server` header does not say. */
  readonly proxy?: DoctorProxy;
  /**
   * The probe's offload target as the proxy gets it (the X-Accel-Redirect URI, or the
   * X-Sendfile path), for check 6 under `backend: 'auto'`: the app names it to the proxy only,
   * so the doctor's direct request cannot learn it.
   */
  readonly internal?: string;
}

/** The identifier of a check. */
export type CheckId =
  'app' | 'app-answer' | 'bytes' | 'leaks' | 'range' | 'internal' | 'client-headers';

/** One of the doctor's checks. */
export interface CheckDefinition {
  /** Its identifier, in the report. */
  readonly id: CheckId;
  /** What it checks, as the table prints it. */
  readonly title: string;
}

/** The checks, in the order they run and print. */
export const CHECKS: readonly CheckDefinition[] = [
  { id: 'app', title: 'the app answers and says how it delivers' },
  { id: 'app-answer', title: "the app's answer carries the offload header (or the bytes)" },
  { id: 'bytes', title: "through the proxy, the probe's bytes arrive intact" },
  { id: 'leaks', title: 'no offload or X-Accel-* header reaches the client' },
  { id: 'range', title: 'a Range request works' },
  { id: 'internal', title: 'the internal location cannot be requested directly' },
  { id: 'client-headers', title: 'a client-sent X-Sendfile-Type / X-Accel-Mapping has no effect' },
];

/** One check's outcome and how long its requests took. */
export interface CheckResult extends Judgement, CheckDefinition {
  /** Milliseconds its requests took, end to end. */
  readonly ms: number;
}

/** What the doctor found. */
export interface DoctorReport {
  /** Whether every check holds (none failed or was left unrun). */
  readonly ok: boolean;
  /** The app's probe URL, as asked. */
  readonly app: string;
  /** The public probe URL, as asked (the app's when there is no proxy). */
  readonly public: string;
  /** The proxy in front, as named by `--proxy` or recognised from its `Server` header. */
  readonly proxy: DoctorProxy | undefined;
  /** How the app delivered the probe when asked directly. */
  readonly delivery: ProbeDelivery | undefined;
  /** Every check, in order, with its verdict and time. */
  readonly checks: readonly CheckResult[];
  /** The diagnoses of the failed checks, each once. */
  readonly diagnoses: readonly Diagnosis[];
}

interface Run {
  readonly options: DoctorOptions;
  readonly app: URL;
  readonly public: URL;
  readonly probe: Buffer;
  readonly results: Map<CheckId, CheckResult>;
}

/**
 * Runs the checks against a live deployment: the app directly, then the same route through the
 * proxy. Resolves with the report; never rejects for what it finds.
 *
 * @example
 * const report = await runDoctor({ app: 'http://127.0.0.1:3000/health/download', public: 'https://example.com/health/download' });
 * if (!report.ok) console.log(report.diagnoses);
 */
export async function runDoctor(options: DoctorOptions): Promise<DoctorReport> {
  const app = new URL(options.app);
  const run: Run = {
    options,
    app,
    public: new URL(options.public ?? app),
    probe: probeContent(),
    results: new Map(),
  };
  const found = await checkApp(run);
  let proxy = options.proxy;
  if (found) proxy = await checkThroughProxy(run, found.answer, found.app);
  const checks = CHECKS.map(({ id, title }): CheckResult => {
    const notRun = { verdict: 'not run', detail: 'needs the checks above', ms: 0 } as const;
    return run.results.get(id) ?? { id, title, ...notRun };
  });
  const ids = new Set(checks.flatMap((check) => (check.diagnosis ? [check.diagnosis] : [])));
  return {
    ok: checks.every((check) => check.verdict === 'pass' || check.verdict === 'n/a'),
    app: shown(app),
    public: shown(run.public),
    proxy,
    delivery: found?.app.delivery,
    checks,
    diagnoses: [...ids].map((id: DiagnosisId) => diagnosis(id)),
  };
}

/** A URL as the report prints it: credentials in it are the user's, never echoed back. */
function shown(url: URL): string {
  if (url.username === '' && url.password === '') return url.href;
  const hidden = new URL(url);
  hidden.username = '***';
  hidden.password = '';
  return hidden.href;
}

function record(run: Run, id: CheckId, judgement: Judgement, answers: readonly Answer[]): void {
  const title = CHECKS.find((check) => check.id === id)?.title ?? id;
  const ms = answers.reduce(
    (sum, answer) => sum + (answer instanceof DoctorRequestError ? 0 : answer.ms),
    0,
  );
  run.results.set(id, { id, title, ...judgement, ms: Math.round(ms * 10) / 10 });
}

function send(run: Run, url: URL, headers?: Record<string, string>): Promise<Answer> {
  const { timeoutMs = 5000, insecure } = run.options;
  return doctorRequest({ url, headers, timeoutMs, insecure }).catch((err: unknown) => {
    if (err instanceof DoctorRequestError) return err;
    throw err;
  });
}

async function checkApp(
  run: Run,
): Promise<{ answer: DoctorResponse; app: AppDelivery } | undefined> {
  const answer = await send(run, run.app);
  const { judgement, app } = judgeApp(answer);
  record(run, 'app', judgement, [answer]);
  if (app === undefined || answer instanceof DoctorRequestError) return undefined;
  return { answer, app };
}

async function checkThroughProxy(
  run: Run,
  appAnswer: DoctorResponse,
  app: AppDelivery,
): Promise<DoctorProxy | undefined> {
  const answer = await sendFollowing(run, run.public, app);
  const proxy =
    run.options.proxy ??
    (answer instanceof DoctorRequestError
      ? undefined
      : proxyFromServer(headerValue(answer, 'server')));
  const atTarget = await appAnswerAtTarget(run, answer, app);
  const viaProxy = answer instanceof DoctorRequestError ? undefined : deliveryThroughProxy(answer);
  record(
    run,
    'app-answer',
    judgeAppAnswer(appAnswer, app, run.probe, { expect: run.options.expect, viaProxy }),
    // Judged from check 1's answer: no request, no time of its own.
    [],
  );
  const offloaded = app.delivery === 'x-accel-redirect' || app.delivery === 'x-sendfile';
  // No --public: the app is its own public address, and nothing in front can act on an
  // offload; the header that reaches the client is the same fault, named once.
  const noProxy = run.options.public === undefined && offloaded;
  const withoutProxy = fail('offload-without-proxy', `${app.delivery} with no proxy in front`);
  const bytes = noProxy ? withoutProxy : judgePublic(answer, app, run.probe, proxy, atTarget);
  record(run, 'bytes', bytes, atTarget ? [answer, atTarget] : [answer]);
  const range = bytes.verdict === 'pass' ? await checkRange(run, app) : undefined;
  const leaks = noProxy ? withoutProxy : judgeLeaks(range ? [answer, range] : [answer], proxy);
  record(run, 'leaks', leaks, []);
  await checkInternal(run, app, viaProxy);
  if (bytes.verdict === 'pass' && !(answer instanceof DoctorRequestError))
    await checkSpoof(run, answer, app);
  return proxy;
}

/** The probe header through the proxy: absent when the proxy answered from the file itself. */
function deliveryThroughProxy(answer: DoctorResponse): ProbeDelivery | 'proxy' {
  return parseProbeHeader(headerValue(answer, PROBE_HEADER))?.delivery ?? 'proxy';
}

/** A redirecting app sends the client on to a signed URL: follow that one hop. */
async function sendFollowing(
  run: Run,
  url: URL,
  app: AppDelivery,
  headers?: Record<string, string>,
): Promise<Answer> {
  const answer = await send(run, url, headers);
  const location =
    answer instanceof DoctorRequestError ? undefined : headerValue(answer, 'location');
  if (app.delivery !== 'redirect' || location === undefined) return answer;
  const next = await send(run, new URL(location, url), headers);
  if (next instanceof DoctorRequestError || answer instanceof DoctorRequestError) return next;
  return { ...next, ms: next.ms + answer.ms };
}

/** For a 404 after X-Accel-Redirect: what the app itself answers for the redirect's URI. */
async function appAnswerAtTarget(
  run: Run,
  answer: Answer,
  app: AppDelivery,
): Promise<Answer | undefined> {
  if (answer instanceof DoctorRequestError || answer.status !== 404) return undefined;
  if (app.delivery !== 'x-accel-redirect' || app.target === undefined) return undefined;
  return send(run, new URL(app.target, run.app));
}

async function checkRange(run: Run, app: AppDelivery): Promise<Answer> {
  const { start, end } = PROBE_RANGE;
  const answer = await sendFollowing(run, run.public, app, { Range: `bytes=${start}-${end}` });
  record(run, 'range', judgeRange(answer, run.probe), [answer]);
  return answer;
}

async function checkInternal(
  run: Run,
  app: AppDelivery,
  viaProxy: ProbeDelivery | 'proxy' | undefined,
): Promise<void> {
  const offloaded = app.delivery === 'x-accel-redirect' || app.delivery === 'x-sendfile';
  const target = (offloaded ? app.target : undefined) ?? run.options.internal;
  if (target === undefined) {
    // The app streamed to the doctor and the proxy sent the file itself: 'auto', which names
    // the target to the proxy only. A check that could not run must not read as one that held.
    const offloadedByProxy =
      viaProxy === 'proxy' || viaProxy === 'x-accel-redirect' || viaProxy === 'x-sendfile';
    const hidden = app.delivery === 'stream' && offloadedByProxy;
    const judgement = hidden
      ? ({
          verdict: 'not run',
          detail:
            "the proxy offloaded what the app streamed to the doctor (backend 'auto'): pass " +
            '--internal <the offload target, e.g. /protected/health/probe.txt> to check it',
        } as const)
      : ({ verdict: 'n/a', detail: `no internal location with ${app.delivery}` } as const);
    record(run, 'internal', judgement, []);
    return;
  }
  const answer = await send(run, new URL(target, run.public));
  record(run, 'internal', judgeInternal(answer, run.probe, target), [answer]);
}

async function checkSpoof(run: Run, baseline: DoctorResponse, app: AppDelivery): Promise<void> {
  const answer = await sendFollowing(run, run.public, app, { ...SPOOFED_HEADERS });
  record(run, 'client-headers', judgeSpoof(answer, baseline, run.probe), [answer]);
}
