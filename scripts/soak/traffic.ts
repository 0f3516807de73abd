import type { SoakFile } from './files.ts';
import type { Random } from './random.ts';
import { planRequest, type RequestKind, type Validators } from './requests.ts';
import type { Transport, TransportName } from './transport.ts';

/** No request may take longer than this in all, however steadily its bytes arrive (see STALL_MS). */
const REQUEST_TIMEOUT_MS = 600_000;
/** Failures are all counted; only the first few are kept word for word. */
const FAILURES_KEPT = 30;

/** What a run of traffic did: counts by kind and status, bytes checked, failures. */
export interface Tally {
  requests: number;
  /** `<kind>` → `<status>` → count (status 0: the client left before any answer). */
  statuses: Record<string, Record<string, number>>;
  byTransport: Partial<Record<TransportName, number>>;
  /** Requests sent again after the keep-alive race (see `Received.retried`), by transport. */
  retried: Partial<Record<TransportName, number>>;
  bytesVerified: number;
  /** The longest a request took, by transport and kind, in ms. */
  slowest: Record<string, number>;
  failureCount: number;
  failures: string[];
}

export function emptyTally(): Tally {
  return {
    requests: 0,
    statuses: {},
    byTransport: {},
    retried: {},
    slowest: {},
    bytesVerified: 0,
    failureCount: 0,
    failures: [],
  };
}

export interface TrafficOptions {
  /** Each entry is one virtual client: it sends one request at a time, back to back. */
  clients: readonly Transport[];
  files: readonly SoakFile[];
  validators: (transport: TransportName, file: SoakFile) => Validators;
  random: Random;
  /** No client starts a request after this time (ms since the epoch). */
  until: number;
}

/** Runs every virtual client until the deadline, checking every answer; resolves when all are done. */
export async function runTraffic(options: TrafficOptions, tally: Tally): Promise<void> {
  await Promise.all(options.clients.map((transport) => runClient(transport, options, tally)));
}

async function runClient(transport: Transport, options: TrafficOptions, tally: Tally) {
  const validators = (file: SoakFile) => options.validators(transport.name, file);
  while (Date.now() < options.until) {
    const planned = planRequest(options.random, options.files, transport.prefix, validators);
    const label = `${transport.name} ${planned.kind} ${planned.exchange.path} ${JSON.stringify(planned.exchange.headers)}`;
    const started = performance.now();
    try {
      const received = await withTimeout(transport.send(planned.exchange), REQUEST_TIMEOUT_MS);
      count(tally, transport.name, planned.kind, received.status);
      const key = `${transport.name} ${planned.kind}`;
      tally.slowest[key] = Math.max(
        tally.slowest[key] ?? 0,
        Math.round(performance.now() - started),
      );
      if (received.retried)
        tally.retried[transport.name] = (tally.retried[transport.name] ?? 0) + 1;
      const problem = planned.check(received);
      if (problem) fail(tally, `${label}: ${problem}`);
      else tally.bytesVerified += planned.verifiedBytes(received);
    } catch (error) {
      count(tally, transport.name, planned.kind, 'error');
      fail(tally, `${label}: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
}

function count(tally: Tally, transport: TransportName, kind: RequestKind, status: number | string) {
  tally.requests++;
  tally.byTransport[transport] = (tally.byTransport[transport] ?? 0) + 1;
  const byStatus = (tally.statuses[kind] ??= {});
  byStatus[status] = (byStatus[status] ?? 0) + 1;
}

function fail(tally: Tally, message: string) {
  tally.failureCount++;
  if (tally.failures.length < FAILURES_KEPT) tally.failures.push(message);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no complete answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
