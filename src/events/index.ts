export { DownloadHookError } from './hook-error.ts';
export { DOWNLOAD_METRICS } from './metric-names.ts';
export { DOWNLOAD_SPAN_NAME } from './span-name.ts';
// `export *`, not `export type`: the module is then loaded (empty at run time), so coverage
// counts its lines as loaded rather than as never run.
export * from './types.ts';
