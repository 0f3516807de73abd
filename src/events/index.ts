export { DownloadHookError } from './hook-error.ts';
export { DOWNLOAD_SPAN_NAME } from './span-name.ts';
export type {
  DownloadAbortEvent,
  DownloadCompleteEvent,
  DownloadEndFields,
  DownloadErrorEvent,
  DownloadEvent,
  DownloadEventBase,
  DownloadEventsOptions,
  DownloadHook,
  DownloadOffloadEvent,
  DownloadStartEvent,
} from './types.ts';
