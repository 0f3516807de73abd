/**
 * An `onDownload` hook threw or rejected. Reported through `app.emit('error')`, once per
 * failure, with the hook's own error as `cause`; the download itself goes on untouched.
 *
 * @example
 * app.on('error', (err) => {
 *   if (err instanceof DownloadHookError) console.error('audit log failed', err.cause);
 * });
 */
export class DownloadHookError extends Error {
  /** Stable code to match on, never the message text. */
  readonly code = 'ERR_DOWNLOAD_HOOK';
  /** The event the hook was told when it failed. */
  readonly event: string;
  /** Never shown to a client; Koa's default error handler logs errors that are not exposed. */
  readonly expose = false;

  constructor(event: string, cause: unknown) {
    super(`the onDownload hook failed on the "${event}" event: ${describe(cause)}`, { cause });
    this.name = 'DownloadHookError';
    this.event = event;
  }
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
