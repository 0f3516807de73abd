/**
 * The name of the span recorded per download, a child of the request's own span when there is
 * one. Apart from the tracing code, so that the public types never name `@opentelemetry/api`
 * (an optional peer: an app without it must still type-check against this package).
 *
 * @example
 * const downloads = exporter.getFinishedSpans().filter((s) => s.name === DOWNLOAD_SPAN_NAME);
 */
export const DOWNLOAD_SPAN_NAME = 'koa-downloadview download';
