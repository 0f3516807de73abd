import type * as OtelApi from '@opentelemetry/api';
import { DOWNLOAD_SPAN_NAME } from './span-name.ts';

/** The tracer's instrumentation scope. */
const TRACER_NAME = 'koa-downloadview';

/** The part of the span API a download uses. */
export interface DownloadSpan {
  setAttributes(attributes: Record<string, string | number | boolean | undefined>): void;
  /** Marks the span failed (a 5xx answer), naming the error. */
  fail(error: Error): void;
  end(): void;
}

/** Numeric values of the API's enums, fixed by the OpenTelemetry specification. */
const SPAN_KIND_INTERNAL = 0;
const SPAN_STATUS_ERROR = 2;

type Api = typeof OtelApi;

let loading: Promise<Api | undefined> | undefined;
let loaded: Api | undefined | null = null;

/**
 * Starts loading `@opentelemetry/api`, once per process: it is an optional peer dependency, so
 * an app without it must neither fail nor pay for it. Resolves `false` when it is absent.
 */
export function loadTelemetry(): Promise<boolean> {
  loading ??= import('@opentelemetry/api').then(
    (api) => (loaded = api),
    () => (loaded = undefined),
  );
  // Resolves whether the API is there; its types stay out of this module's declarations.
  return loading.then(Boolean);
}

/** The API once `loadTelemetry()` found it; `undefined` while loading or when it is absent. */
export function loadedTelemetryApi(): Api | undefined {
  return loaded ?? undefined;
}

/** The load started by `loadTelemetry()` while it is still going on, else `undefined`. */
export function telemetryLoading(): Promise<unknown> | undefined {
  return loaded === null ? loadTelemetry() : undefined;
}

/**
 * A span for one download, or `undefined` when the API is absent (or not loaded yet: await
 * `telemetryLoading()` first) or no SDK records: the API's no-op tracer then answers
 * `isRecording() === false`, and nothing more is done.
 */
export function startDownloadSpan(attributes: Record<string, string>): DownloadSpan | undefined {
  const api = loaded;
  if (!api) return undefined;
  // The tracer is asked for each download, not kept: the global provider may be registered
  // (or replaced) after the middleware was created, and a kept proxy tracer would stay bound
  // to the first one.
  const span = api.trace.getTracer(TRACER_NAME).startSpan(DOWNLOAD_SPAN_NAME, {
    kind: SPAN_KIND_INTERNAL,
    attributes,
  });
  if (!span.isRecording()) return undefined;
  return {
    setAttributes: (values) => span.setAttributes(definedOnly(values)),
    fail: (error) => {
      span.recordException(error);
      span.setStatus({ code: SPAN_STATUS_ERROR, message: error.message });
    },
    end: () => span.end(),
  };
}

function definedOnly(
  values: Record<string, string | number | boolean | undefined>,
): OtelApi.Attributes {
  const kept: OtelApi.Attributes = {};
  for (const [key, value] of Object.entries(values)) if (value !== undefined) kept[key] = value;
  return kept;
}
