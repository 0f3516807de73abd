import type * as OtelApi from '@opentelemetry/api';
import { DOWNLOAD_METRICS } from './metric-names.ts';
import { loadedTelemetryApi } from './telemetry.ts';

/** The meter's instrumentation scope, the same as the tracer's. */
const METER_NAME = 'koa-downloadview';

/** The counters one download adds to. */
export interface DownloadMeters {
  readonly downloads: OtelApi.Counter;
  readonly bytes: OtelApi.Counter;
  readonly aborts: OtelApi.Counter;
  readonly offloads: OtelApi.Counter;
}

let made: { provider: OtelApi.MeterProvider; meters: DownloadMeters | undefined } | undefined;

/**
 * The download counters of the global meter provider, or `undefined` when the API is absent
 * (or not loaded yet) or no SDK registered one: the API's no-op meter then hands out one shared
 * no-op counter, and downloads skip counting altogether.
 */
export function downloadMeters(): DownloadMeters | undefined {
  const api = loadedTelemetryApi();
  if (!api) return undefined;
  // Made again when the app registers (or replaces) its provider after the middleware was
  // created; otherwise once per process.
  const provider = api.metrics.getMeterProvider();
  if (made?.provider !== provider) made = { provider, meters: makeMeters(api, provider) };
  return made.meters;
}

function makeMeters(api: typeof OtelApi, provider: OtelApi.MeterProvider) {
  const meter = provider.getMeter(METER_NAME);
  const downloads = meter.createCounter(DOWNLOAD_METRICS.downloads, {
    description: 'Downloads answered, by backend and status, refusals (404, 416, …) included',
    unit: '{download}',
  });
  if (downloads === api.createNoopMeter().createCounter(DOWNLOAD_METRICS.downloads)) {
    return undefined;
  }
  return {
    downloads,
    bytes: meter.createCounter(DOWNLOAD_METRICS.bytes, {
      description: 'Body bytes the app wrote for streamed downloads (never the proxy’s)',
      unit: 'By',
    }),
    aborts: meter.createCounter(DOWNLOAD_METRICS.aborts, {
      description: 'Downloads whose connection closed before the end of the response',
      unit: '{download}',
    }),
    offloads: meter.createCounter(DOWNLOAD_METRICS.offloads, {
      description: 'Downloads handed to a proxy or redirected to a storage URL',
      unit: '{download}',
    }),
  };
}

/** What one download adds to the counters, once it ended or was refused. */
export interface DownloadMeasure {
  /** The backend that answered; absent for a download refused before one was chosen. */
  readonly backend?: string;
  readonly status: number;
  /** Body bytes written by the app; absent when it wrote none of its own (offload, refusal). */
  readonly bytes?: number;
  readonly aborted: boolean;
  readonly offloaded: boolean;
}

/** Adds one download to the counters. */
export function recordDownload(meters: DownloadMeters, measure: DownloadMeasure): void {
  const by = measure.backend === undefined ? {} : { 'koa_downloadview.backend': measure.backend };
  meters.downloads.add(1, { ...by, 'http.response.status_code': measure.status });
  if (measure.bytes !== undefined) meters.bytes.add(measure.bytes, by);
  if (measure.aborted) meters.aborts.add(1, by);
  if (measure.offloaded) meters.offloads.add(1, by);
}
