/**
 * The health probe both sides agree on: the bytes `healthcheck()` serves and the doctor expects,
 * and the response header by which the app says how it delivered them.
 */

/** The probe's format version; the doctor refuses a probe of another version. */
export const PROBE_VERSION = 1;

/**
 * Response header of the probe route only. Its value names the delivery the app chose (never a
 * path or a secret), e.g. `v=1; delivery=x-accel-redirect`. nginx and Caddy drop it when they
 * serve the file themselves; Apache and lighttpd pass it on, which reveals no more than their
 * own `Server` header does.
 */
export const PROBE_HEADER = 'X-Download-Probe';

/** How the app answered the probe request. */
export type ProbeDelivery = 'x-accel-redirect' | 'x-sendfile' | 'redirect' | 'stream' | 'error';

/** Lines of the probe: enough bytes for a range in the middle, each line saying where it is. */
const PROBE_LINES = 32;
const LINE_LENGTH = 64;

/**
 * The probe's bytes: 32 lines of 64 ASCII bytes (2048 in all), each numbered, so a wrong range
 * or a truncated body is visible to a human reading the doctor's output too.
 *
 * @example
 * const bytes = probeContent(); // Buffer of 2048 bytes starting "koa-downloadview probe v1"
 */
export function probeContent(): Buffer {
  const lines = Array.from({ length: PROBE_LINES }, (_, index) => {
    const text = `koa-downloadview probe v${PROBE_VERSION} line ${String(index).padStart(2, '0')} `;
    return text.padEnd(LINE_LENGTH - 1, '=') + '\n';
  });
  return Buffer.from(lines.join(''), 'ascii');
}

/**
 * The delivery an answer's status and headers show: the offload header it carries, a redirect,
 * a streamed body, or an error.
 *
 * @example
 * deliveryOf(200, (name) => (name === 'x-sendfile' ? '/srv/a' : undefined)); // 'x-sendfile'
 */
export function deliveryOf(
  status: number,
  header: (lowercaseName: string) => unknown,
): ProbeDelivery {
  if (status >= 400) return 'error';
  if (header('x-accel-redirect') !== undefined) return 'x-accel-redirect';
  if (header('x-sendfile') !== undefined) return 'x-sendfile';
  if (status >= 300 && header('location') !== undefined) return 'redirect';
  return 'stream';
}

/**
 * The probe header's value for a delivery.
 *
 * @example
 * formatProbeHeader('stream'); // 'v=1; delivery=stream'
 */
export function formatProbeHeader(delivery: ProbeDelivery): string {
  return `v=${PROBE_VERSION}; delivery=${delivery}`;
}

/** What a probe header says; `undefined` fields were absent or unreadable. */
export interface ProbeHeader {
  /** The probe format version. */
  readonly version: number | undefined;
  /** The delivery the app chose. */
  readonly delivery: ProbeDelivery | undefined;
}

const DELIVERIES: readonly ProbeDelivery[] = [
  'x-accel-redirect',
  'x-sendfile',
  'redirect',
  'stream',
  'error',
];

/**
 * Reads a probe header value; `undefined` when there is none.
 *
 * @example
 * parseProbeHeader('v=1; delivery=stream'); // { version: 1, delivery: 'stream' }
 */
export function parseProbeHeader(value: string | undefined): ProbeHeader | undefined {
  if (value === undefined) return undefined;
  const fields = new Map(
    value.split(';').map((part) => {
      const [key = '', field = ''] = part.split('=');
      return [key.trim().toLowerCase(), field.trim().toLowerCase()] as const;
    }),
  );
  const version = Number(fields.get('v'));
  const delivery = DELIVERIES.find((known) => known === fields.get('delivery'));
  return { version: Number.isInteger(version) ? version : undefined, delivery };
}
