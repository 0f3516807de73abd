/** Scenario "js": the library against the least Koa handler sending the same bytes. */
export const JS_CONTENDERS = ['koa-downloadview', 'bare Koa handler'] as const;

/**
 * Scenario "events": one download with each telemetry state an app can be in. The first is the
 * reference: an app that never installed `@opentelemetry/api`.
 */
export const EVENT_CONTENDERS = [
  'events: API absent',
  'events: API, no SDK',
  'events: SDK, traces + metrics',
  'events: onDownload hook, telemetry off',
] as const;
