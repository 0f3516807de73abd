/**
 * The doctor's judgements, as pure functions of the answers it collected: each says whether a
 * check holds and, when not, which diagnosis explains what was seen.
 */
import { DoctorRequestError, headerValue, type DoctorResponse } from './http-request.ts';
export type { Answer, DoctorProxy, Judgement, Verdict } from './verdict.ts';
export { judgeLeaks } from './leaks.ts';
import { leakedHeaders, unhandled, unhandledOffload } from './leaks.ts';
import { fail, pass, type Answer, type DoctorProxy, type Judgement } from './verdict.ts';
import { parseProbeHeader, PROBE_HEADER, PROBE_VERSION, type ProbeDelivery } from './probe.ts';

/**
 * Which proxy sent an answer, from its `Server` header.
 *
 * @example
 * proxyFromServer('Apache/2.4.62 (Debian)'); // 'apache'
 */
export function proxyFromServer(server: string | undefined): DoctorProxy | undefined {
  const names: DoctorProxy[] = ['nginx', 'apache', 'lighttpd', 'caddy'];
  return names.find((name) => server?.toLowerCase().includes(name));
}

/** What the app's own answer says: how it delivered, and where it sent the proxy. */
export interface AppDelivery {
  readonly delivery: ProbeDelivery;
  /** The offload header's value (X-Accel-Redirect URI, X-Sendfile path, Location URL). */
  readonly target?: string;
}

/**
 * Check 1: the app answers the probe route and says how it delivered.
 *
 * @example
 * judgeApp(answer).judgement.verdict; // 'pass'
 */
export function judgeApp(answer: Answer): { judgement: Judgement; app?: AppDelivery } {
  if (answer instanceof DoctorRequestError)
    return { judgement: fail('app-unreachable', answer.message) };
  const probe = parseProbeHeader(headerValue(answer, PROBE_HEADER));
  if (probe?.version !== PROBE_VERSION || probe.delivery === undefined) {
    return {
      judgement: fail(
        'app-no-probe',
        `status ${answer.status} without ${PROBE_HEADER} v${PROBE_VERSION}`,
      ),
    };
  }
  if (probe.delivery === 'error') {
    return {
      judgement: fail('probe-unavailable', `the health-check route answered ${answer.status}`),
    };
  }
  const target = targetOf(answer, probe.delivery);
  const app = { delivery: probe.delivery, target };
  return { judgement: pass(`delivery: ${probe.delivery}${target ? ` → ${target}` : ''}`), app };
}

function targetOf(answer: DoctorResponse, delivery: ProbeDelivery): string | undefined {
  if (delivery === 'x-accel-redirect') return headerValue(answer, 'x-accel-redirect');
  // mod_xsendfile takes raw UTF-8 bytes, which Node reads as latin1.
  if (delivery === 'x-sendfile') return rawUtf8(headerValue(answer, 'x-sendfile'));
  if (delivery === 'redirect') return headerValue(answer, 'location');
  return undefined;
}

function rawUtf8(value: string | undefined): string | undefined {
  return value === undefined ? undefined : Buffer.from(value, 'latin1').toString('utf8');
}

/** What `--expect` may ask for: any offload, streaming, or one delivery. */
export type Expectation = 'offload' | Exclude<ProbeDelivery, 'error'>;

/**
 * Check 2: the app's answer carries a well-formed offload header, or the probe's bytes when it
 * streams; with `expect`, the delivery it asks for (directly or, for `auto`, through the proxy).
 *
 * @example
 * judgeAppAnswer(answer, app, probe, { expect: 'offload', viaProxy: 'stream' });
 */
export function judgeAppAnswer(
  answer: DoctorResponse,
  app: AppDelivery,
  probe: Buffer,
  options: { expect?: Expectation; viaProxy?: ProbeDelivery | 'proxy' },
): Judgement {
  const shape = answerShape(answer, app, probe);
  if (shape) return shape;
  const { expect, viaProxy } = options;
  if (expect === undefined || meets(app.delivery, expect)) return pass(describe(app));
  // `auto` streams a request that no proxy configured; through the proxy it must offload.
  // Through nginx or Caddy the probe header is gone (the proxy answered from the file); Apache
  // and lighttpd pass it on, saying which offload the app chose for the proxied request.
  const offloaded = viaProxy === 'proxy' || (viaProxy !== undefined && isOffload(viaProxy));
  if (app.delivery === 'stream' && expect !== 'stream' && offloaded) {
    return pass('streams when asked directly, offloaded through the proxy (backend auto)');
  }
  return fail('app-delivery-unexpected', `${app.delivery}, expected ${expect}`);
}

function answerShape(
  answer: DoctorResponse,
  app: AppDelivery,
  probe: Buffer,
): Judgement | undefined {
  if (app.delivery === 'stream') {
    return answer.body.equals(probe)
      ? undefined
      : fail(
          'storage-probe-corrupt',
          `streamed ${answer.body.length} bytes that are not the probe`,
        );
  }
  if (app.delivery === 'redirect') return undefined;
  if (answer.body.length > 0)
    return fail('app-offload-invalid', `offload answer with a ${answer.body.length}-byte body`);
  const absolute = app.target?.startsWith('/') === true;
  return absolute
    ? undefined
    : fail('app-offload-invalid', `${app.delivery}: ${String(app.target)}`);
}

function meets(delivery: ProbeDelivery, expect: Expectation): boolean {
  if (expect === 'offload') return delivery === 'x-accel-redirect' || delivery === 'x-sendfile';
  return delivery === expect;
}

function describe(app: AppDelivery): string {
  return app.delivery === 'stream'
    ? 'the app streams the probe itself (no offload)'
    : `${app.delivery} sent, with an empty body`;
}

function isOffload(delivery: ProbeDelivery): delivery is 'x-accel-redirect' | 'x-sendfile' {
  return delivery === 'x-accel-redirect' || delivery === 'x-sendfile';
}

/** Same status, type and body: the proxy passed the app's own answer on. */
export function sameAnswer(a: DoctorResponse, b: DoctorResponse): boolean {
  return (
    a.status === b.status &&
    headerValue(a, 'content-type') === headerValue(b, 'content-type') &&
    a.body.equals(b.body)
  );
}

/**
 * Check 3: through the proxy, the probe's bytes arrive intact. `appAtTarget` is the app's own
 * answer for the X-Accel-Redirect URI, asked for when the proxy answered 404.
 *
 * @example
 * judgePublic(answer, app, probe, 'nginx');
 */
export function judgePublic(
  answer: Answer,
  app: AppDelivery,
  probe: Buffer,
  proxy: DoctorProxy | undefined,
  appAtTarget?: Answer,
): Judgement {
  if (answer instanceof DoctorRequestError) return fail('proxy-unreachable', answer.message);
  const { status } = answer;
  if (status === 200 && answer.body.equals(probe)) return pass(`${probe.length} bytes intact`);
  const header = unhandled(answer);
  if (header !== undefined)
    return fail(
      unhandledOffload(header, proxy),
      `${header} reached the client, status ${status}, no body`,
    );
  if (status >= 502 && status <= 504) return fail('proxy-cannot-reach-app', `status ${status}`);
  if (status === 200 && answer.body.length === 0 && isOffload(app.delivery)) {
    // lighttpd without x-sendfile strips the header yet sends the app's empty body.
    return fail(
      unhandledOffload(app.delivery, proxy),
      `status 200 with no body and no ${app.delivery}`,
    );
  }
  if (status === 200)
    return fail('proxy-serves-other-bytes', `${answer.body.length} bytes that are not the probe`);
  if ((status === 404 || status === 403) && isOffload(app.delivery)) {
    const atApp = appAtTarget instanceof DoctorRequestError ? undefined : appAtTarget;
    if (app.delivery === 'x-accel-redirect' && atApp && sameAnswer(answer, atApp)) {
      return fail(
        'nginx-internal-location-missing',
        `status ${status}, the app's own answer for ${app.target}`,
      );
    }
    return fail('offload-target-not-found', `status ${status} for ${app.target}`);
  }
  return fail('proxy-not-routing-to-app', `status ${status}`);
}

/** The range check 5 asks for: 100 bytes in the middle of the probe. */
export const PROBE_RANGE = { start: 1000, end: 1099 } as const;

/**
 * Check 5: a Range request gets 206 with the right `Content-Range` and bytes.
 *
 * @example
 * judgeRange(answer, probe);
 */
export function judgeRange(answer: Answer, probe: Buffer): Judgement {
  if (answer instanceof DoctorRequestError) return fail('range-not-served', answer.message);
  const { start, end } = PROBE_RANGE;
  const expected = `bytes ${start}-${end}/${probe.length}`;
  const contentRange = headerValue(answer, 'content-range');
  if (
    answer.status === 206 &&
    contentRange === expected &&
    answer.body.equals(probe.subarray(start, end + 1))
  ) {
    return pass(`206 ${expected}`);
  }
  return fail(
    'range-not-served',
    `status ${answer.status}, Content-Range ${contentRange ?? 'absent'}, ${answer.body.length} bytes`,
  );
}

/**
 * Check 6: the offload target, requested directly on the public address, does not give the
 * probe.
 *
 * @example
 * judgeInternal(answer, probe, '/protected/health/probe.txt');
 */
export function judgeInternal(answer: Answer, probe: Buffer, target: string): Judgement {
  if (answer instanceof DoctorRequestError) return pass(`${target}: no answer (${answer.code})`);
  if (answer.status === 200 && answer.body.equals(probe)) {
    return fail('internal-location-public', `${target} gave the probe to a direct request`);
  }
  return pass(`${target} answered ${answer.status} to a direct request`);
}

/** What check 7 sends, as a client could: turn offload on, to a location of its choosing. */
export const SPOOFED_HEADERS = {
  'X-Sendfile-Type': 'X-Accel-Redirect',
  'X-Accel-Mapping': '/=/koa-downloadview-doctor-spoof/',
} as const;

/**
 * Check 7: a client's own `X-Sendfile-Type` / `X-Accel-Mapping` leave the answer unchanged.
 *
 * @example
 * judgeSpoof(spoofed, baseline, probe);
 */
export function judgeSpoof(answer: Answer, baseline: DoctorResponse, probe: Buffer): Judgement {
  if (answer instanceof DoctorRequestError)
    return fail('proxy-forwards-offload-headers', answer.message);
  const changes = [
    answer.status !== baseline.status && `status ${answer.status}`,
    !answer.body.equals(probe) && `${answer.body.length} bytes that are not the probe`,
    leakedHeaders(answer).length > 0 && `headers ${leakedHeaders(answer).join(', ')}`,
    headerValue(answer, PROBE_HEADER) !== headerValue(baseline, PROBE_HEADER) &&
      `${PROBE_HEADER}: ${headerValue(answer, PROBE_HEADER) ?? 'absent'}`,
  ].filter((change): change is string => typeof change === 'string');
  if (changes.length === 0) return pass('same answer with the spoofed headers');
  return fail('proxy-forwards-offload-headers', `with the spoofed headers: ${changes.join('; ')}`);
}
