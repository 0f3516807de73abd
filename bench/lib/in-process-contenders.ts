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

/**
 * Scenario "rules": one offloaded download with 1, 100 and 10,000 rules, the match at the end.
 * The first is the reference: the cost must not grow with the number of rules.
 */
export const RULE_CONTENDERS = ['rules: 1', 'rules: 100', 'rules: 10,000'] as const;

/** The number of rules a "rules" contender runs with. */
export function ruleCount(contender: (typeof RULE_CONTENDERS)[number]): number {
  return Number(contender.slice('rules: '.length).replaceAll(',', ''));
}

/**
 * Scenario "files": streamed downloads of 1 KiB files from memory, each request naming one of
 * 1, 1,000 or 100,000 files at random. The first is the reference: per-file caches (validators,
 * Content-Disposition) must keep the cost flat and the memory bounded as the names grow.
 */
export const FILE_CONTENDERS = ['files: 1', 'files: 1,000', 'files: 100,000'] as const;

/** The number of distinct files a "files" contender requests. */
export function fileCount(contender: (typeof FILE_CONTENDERS)[number]): number {
  return Number(contender.slice('files: '.length).replaceAll(',', ''));
}
