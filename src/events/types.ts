import type { Context } from 'koa';

/** What every download event says about the request and the file. */
export interface DownloadEventBase {
  /** The request's Koa context: `ctx.state` holds what the app knows of the user. */
  readonly ctx: Context;
  /** The name the user sees (`Content-Disposition`). */
  readonly filename: string;
  /** Where the bytes come from: the storage's driver label and the name in it. */
  readonly source: {
    /** The storage's driver label (`filesystem`, `s3`, …), or the class name for other kinds. */
    readonly driver: string;
    /** The file's name in its storage, or its download name for other kinds. */
    readonly name: string;
  };
  /** The request method (`GET` or `HEAD`). */
  readonly method: string;
  /** The request path (`ctx.path`). */
  readonly path: string;
  /** The `Range` header the client sent, as sent; `undefined` without one. */
  readonly range: string | undefined;
}

/**
 * The answer is decided and no byte of it has gone out yet: the backend is chosen, the status
 * and headers are set. Every start is followed by one `complete`, `abort` or `offload`.
 */
export interface DownloadStartEvent extends DownloadEventBase {
  /** Tells this event from the others of `DownloadEvent`. */
  readonly type: 'start';
  /** The backend that answers: `'stream'`, `'nginx'`, `'apache'`, `'lighttpd'`, `'caddy'`, … */
  readonly backend: string;
  /** The status about to be sent: 200, 206, 304. */
  readonly status: number;
  /** The body's `Content-Length`; `undefined` when not known in advance or when offloaded. */
  readonly expectedBytes: number | undefined;
}

/** What a streamed download ended with: `complete` and `abort` events carry it. */
export interface DownloadEndFields extends DownloadEventBase {
  /** Always `'stream'`: only Node's own answers have bytes Node can count. */
  readonly backend: string;
  /** The status that was sent. */
  readonly status: number;
  /**
   * Body bytes the response wrote to the connection (multipart framing included; headers
   * not). After an abort, some of them may still have been in the kernel's buffers.
   */
  readonly bytes: number;
  /** The body's `Content-Length`; `undefined` when the body was sent without one. */
  readonly expectedBytes: number | undefined;
  /** Milliseconds from the moment `downloadview()` found the file to the end of the response. */
  readonly durationMs: number;
}

/** The response was sent to the end: every byte of the body went to the connection. */
export interface DownloadCompleteEvent extends DownloadEndFields {
  /** Tells this event from the others of `DownloadEvent`. */
  readonly type: 'complete';
  /** Whether the client was sent every byte announced (`bytes === expectedBytes`). */
  readonly complete: boolean;
}

/**
 * The connection closed before the end of the body: the client left, or the storage failed
 * mid-body (that failure is also reported through `app.emit('error')`). `bytes` says where.
 */
export interface DownloadAbortEvent extends DownloadEndFields {
  /** Tells this event from the others of `DownloadEvent`. */
  readonly type: 'abort';
  /** Always `false`: the client did not get every byte announced. */
  readonly complete: false;
}

/**
 * The download was handed to the reverse proxy (or redirected), and the answer to Node's
 * client ended. The proxy's bytes are invisible to Node: read them from its access log
 * (docs/events.md).
 */
export interface DownloadOffloadEvent extends DownloadEventBase {
  /** Tells this event from the others of `DownloadEvent`. */
  readonly type: 'offload';
  /** The backend that handed the file over: `'nginx'`, `'apache'`, `'caddy'`, `'redirect'`, … */
  readonly backend: string;
  /** The status Koa sent to the proxy: 200, or 304 when a conditional middleware answered. */
  readonly status: number;
  /** The header that hands the file over and its value (`X-Accel-Redirect`, `X-Sendfile`, `Location`). */
  readonly handoff:
    | {
        /** The header's name, as sent. */
        readonly header: string;
        /** The header's value, as sent. */
        readonly value: string;
      }
    | undefined;
  /** Whether the answer reached the proxy (`false`: the connection closed first). */
  readonly complete: boolean;
  /** Milliseconds from the moment `downloadview()` found the file to the end of the answer. */
  readonly durationMs: number;
}

/**
 * The download was refused before any answer was decided: a missing file (404), a range that
 * cannot be satisfied (416), a failed precondition (412), an unavailable storage (503). No
 * `start` precedes it, and the error goes on to the app's error handling as usual.
 */
export interface DownloadErrorEvent extends DownloadEventBase {
  /** Tells this event from the others of `DownloadEvent`. */
  readonly type: 'error';
  /** The HTTP status the error answers with. */
  readonly status: number;
  /** The HTTP error the download was refused with; a storage's error, if any, is its `cause`. */
  readonly error: Error;
  /** Milliseconds from the moment `downloadview()` found the file to the refusal. */
  readonly durationMs: number;
}

/** One event of a download, told to the `onDownload` option of `downloadview()`. */
export type DownloadEvent =
  | DownloadStartEvent
  | DownloadCompleteEvent
  | DownloadAbortEvent
  | DownloadOffloadEvent
  | DownloadErrorEvent;

/**
 * Called for each event of each download. It is not awaited: a slow hook never delays a
 * download. A hook that throws or rejects is reported through `app.emit('error')` (as a
 * `DownloadHookError`) and the download goes on.
 */
export type DownloadHook = (event: DownloadEvent) => void | Promise<void>;

/** The options of `downloadview()` about events and tracing. */
export interface DownloadEventsOptions {
  /**
   * Told of each download: `start`, then one of `complete`, `abort` or `offload`; or a
   * lone `error` when the download is refused. See docs/events.md.
   */
  onDownload?: DownloadHook;
  /**
   * An OpenTelemetry span per download, through `@opentelemetry/api` when it is installed and
   * an SDK is registered (otherwise nothing is recorded). Default `true`; `false` never loads
   * the API.
   */
  telemetry?: boolean;
}
