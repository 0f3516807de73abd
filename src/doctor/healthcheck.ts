import type { ServerResponse } from 'node:http';
import { buffer } from 'node:stream/consumers';
import onHeaders from 'on-headers';
import { StorageNotFoundError } from '../errors.ts';
import { StorageFile } from '../files/storage-file.ts';
import { checkOptionKeys } from '../options.ts';
import type { DownloadRoute } from '../per-request.ts';
import type { Storage } from '../storage.ts';
import { deliveryOf, formatProbeHeader, PROBE_HEADER, probeContent } from './probe.ts';

/** Options of `healthcheck()`. */
export interface HealthcheckOptions {
  /**
   * The storage whose downloads the probe checks: the probe goes through the same rules, so
   * the same backend and proxy location serve it.
   */
  storage: Storage;
  /**
   * The probe's name in that storage. `healthcheck()` owns it: it writes the probe there when
   * the file is missing or has another size (with `save()`, when the storage has one).
   */
  name: string;
}

/**
 * A route that serves a small probe file from `storage` through the configured backend, for
 * `npx koa-downloadview doctor`. Its answer carries the `X-Download-Probe` header, which says
 * how the app delivered it (`x-accel-redirect`, `x-sendfile`, `redirect` or `stream`) and
 * nothing more, and `Cache-Control: no-store`, so no cache answers in the app's stead.
 *
 * @example
 * router.get('/health/download', healthcheck({ storage, name: 'health/probe.txt' }));
 */
export function healthcheck(options: HealthcheckOptions): DownloadRoute {
  checkOptionKeys('healthcheck', options, { storage: true, name: true });
  const { storage, name } = options;
  if (typeof storage?.stat !== 'function' || typeof storage.open !== 'function') {
    throw new TypeError('healthcheck option "storage" must be a Storage');
  }
  if (typeof name !== 'string' || name === '') {
    throw new TypeError('healthcheck option "name" must be a non-empty storage name');
  }
  // Storage files refuse dotfile names with 404: the probe would never be served.
  if (name.split('/').some((segment) => segment.startsWith('.'))) {
    throw new TypeError(
      `healthcheck option "name" must have no segment starting with ".", got ${name}`,
    );
  }
  // One check-and-write at a time: concurrent first requests would each rewrite the probe,
  // replacing the file another request had just opened.
  let ensuring: Promise<void> | undefined;
  return async function healthcheck(ctx) {
    // The backend decides after this route returns, so the header is written last, from the
    // answer as it is about to leave: whatever backend, rule or per-route wrapper chose.
    onHeaders(ctx.res, function (this: ServerResponse) {
      const delivery = deliveryOf(this.statusCode, (header) => this.getHeader(header));
      this.setHeader(PROBE_HEADER, formatProbeHeader(delivery));
    });
    ensuring ??= ensureProbe(storage, name).finally(() => (ensuring = undefined));
    await ensuring;
    ctx.set('Cache-Control', 'no-store');
    ctx.body = new StorageFile(storage, name);
  };
}

/**
 * Writes the probe when it is missing or holds other bytes (it is small: reading it costs
 * less than a doctor blaming the proxy for a storage's stale copy). A storage without
 * `save()` is left as it is: the download then fails or sends other bytes, and the doctor
 * blames the storage.
 */
async function ensureProbe(storage: Storage, name: string): Promise<void> {
  const content = probeContent();
  if (storage.save === undefined || (await holds(storage, name, content))) return;
  await storage.save(name, content);
}

/** Whether `name` holds exactly `content`; `false` when it is missing. */
async function holds(storage: Storage, name: string, content: Buffer): Promise<boolean> {
  try {
    if ((await storage.stat(name)).size !== content.length) return false;
    return (await buffer(await storage.open(name))).equals(content);
  } catch (err) {
    if (err instanceof StorageNotFoundError) return false;
    throw err;
  }
}
