import type { Context } from 'koa';
import type { DownloadFile, DownloadFileStat } from '../files/download-file.ts';
import type { OffloadTarget } from './offload-target.ts';
import type { Validators } from './validators.ts';

export type { OffloadTarget };

/**
 * A file resolved for offload. Before any backend but streaming is asked, `downloadview()`
 * reads the file's metadata through its storage: the storage confines the name to its root and
 * fails for a missing file, so no offload header is ever written for a file outside the root
 * or for one that does not exist (the client gets the same 404 as when streaming).
 */
export interface Offload {
  /** The file's metadata, as its storage reported it. */
  readonly stat: DownloadFileStat;
  /** ETag and Last-Modified, derived as streaming derives them (the app's `etag` mode). */
  readonly validators: Validators;
  /** Where the matching rule sends the file; absent for backends that need no rule. */
  readonly target?: OffloadTarget;
}

/**
 * One way to deliver a `DownloadFile` to a client. The streaming fallback is a backend like the
 * proxy ones; it alone never declines, and it alone is called without an `offload`.
 *
 * @example
 * const tagging: Backend = {
 *   name: 'tagging',
 *   async deliver(ctx, file, offload) { ctx.set('X-Size', String(offload?.stat.size)); return false; },
 * };
 */
export interface Backend {
  /** A short label, used in errors and debug output. */
  readonly name: string;
  /**
   * What a rule must give this backend: `'url'` (an internal location, as nginx and Caddy
   * take) or `'dir'` (a directory, as Apache and lighttpd take). Absent for backends that
   * need no rule.
   */
  readonly destination?: 'url' | 'dir';
  /**
   * Answers the request in `ctx` with `file`, or resolves `false` to decline, in which case the
   * file is streamed by Koa instead. Rejects with storage or HTTP errors.
   */
  deliver(ctx: Context, file: DownloadFile, offload?: Offload): Promise<boolean>;
}
