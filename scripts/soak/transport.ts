/** What one soak request asks of a transport, and how the client behaves while it reads. */
export interface SoakExchange {
  method: 'GET' | 'HEAD';
  path: string;
  headers: Record<string, string>;
  /** Hang up before any answer arrives. */
  hangUpAtOnce?: boolean;
  /** Hang up once this many body bytes arrived (0: as soon as the status line does). */
  hangUpAfter?: number;
  /** A slow reader: stop reading for this long once the first body bytes arrived. */
  pauseMs?: number;
  /** Keep the body's bytes (multipart bodies are parsed), not only their hash. */
  keepBody?: boolean;
}

/**
 * A request during which the server sends nothing for this long has stalled, and fails. Slow
 * is not stalled: at 300 clients on two shared cores a 64 MiB download over HTTP/2 took up to
 * two minutes, with bytes arriving all along.
 */
export const STALL_MS = 30_000;

/** The error a request fails with when the server sent nothing for STALL_MS. */
export function stalled(bytes: number): Error {
  return new Error(`stalled: nothing for ${STALL_MS} ms after ${bytes} body bytes`);
}

/** What the client saw. */
export interface Received {
  /** 0 when the client hung up before any answer. */
  status: number;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  bodyLength: number;
  bodySha256: string;
  body?: Buffer;
  /** The client hung up on purpose (`hangUpAtOnce`, `hangUpAfter`). */
  hungUp: boolean;
  /**
   * The server closed a kept-alive connection just as the request went out on it, and the
   * request was sent again on a new one, as RFC 9112 §9.3.1 lets a client do for GET and HEAD
   * (browsers do it silently). nginx closes the connection after a 412 of its own although it
   * announced keep-alive, so offloaded If-Match requests meet this race.
   */
  retried?: boolean;
}

/** The four ways the soak reaches the app. */
export type TransportName = 'http1' | 'http1-tls' | 'http2-tls' | 'nginx';

/** A way to reach the app, with its own pooled connections. */
export interface Transport {
  name: TransportName;
  /** The path prefix this transport's requests use: `/stream/` or `/offload/`. */
  prefix: string;
  /** Resolves with what arrived; rejects only on an error the client did not cause. */
  send(exchange: SoakExchange): Promise<Received>;
  /** Drops every pooled connection, so the app's descriptors can be counted without them. */
  close(): Promise<void>;
}
