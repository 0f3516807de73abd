/**
 * The names of the OpenTelemetry metrics `downloadview()` records (counters of the meter
 * `koa-downloadview`), stable: dashboards and alerts are written against them.
 * Each measurement carries `koa_downloadview.backend`; `downloads` also carries
 * `http.response.status_code`.
 */
export const DOWNLOAD_METRICS = {
  /** Downloads answered, refusals (404, 416, …) included. */
  downloads: 'koa_downloadview.downloads',
  /** Body bytes the app wrote for streamed downloads; offloaded bytes are the proxy's. */
  bytes: 'koa_downloadview.bytes',
  /** Downloads whose connection closed before the end of the response. */
  aborts: 'koa_downloadview.aborts',
  /** Downloads handed to a proxy, or redirected to a storage URL. */
  offloads: 'koa_downloadview.offloads',
} as const;
