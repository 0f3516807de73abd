import {
  request as httpRequest,
  type Agent,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
} from 'node:http';
import {
  connect,
  constants,
  type ClientHttp2Session,
  type IncomingHttpHeaders as IncomingHttp2Headers,
} from 'node:http2';
import { EventEmitter } from 'node:events';
import { request as httpsRequest } from 'node:https';
import { testCertificate } from './tls.ts';

/** A raw HTTP answer: status, headers and the exact bytes. */
export interface RawResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** True when the connection ended before the announced body was complete. */
  aborted: boolean;
  /** The protocol of the answer, when `request()` made it. */
  httpVersion?: '1.1' | '2';
}

/**
 * The body was sent without a Content-Length, its end marked by the framing: chunked over
 * HTTP/1.1, END_STREAM over HTTP/2 (which has no Transfer-Encoding).
 */
export function sentWithoutLength(res: RawResponse): boolean {
  if (res.headers['content-length'] !== undefined) return false;
  return res.httpVersion === '2' || res.headers['transfer-encoding'] === 'chunked';
}

/** Options of `request()`. */
export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  /** HTTP/1.1 only: the connection pool (an `https.Agent` for an https URL with `http1`). */
  agent?: Agent;
  /** For an https URL: HTTP/1.1 over TLS instead of HTTP/2 (what a reverse proxy speaks). */
  http1?: boolean;
}

/**
 * One HTTP request with Node's own client, so that tests see exactly what went over the wire
 * (no decompression, no header folding) and can tell a cut connection from a complete body.
 * An `https:` URL (a test app under TRANSPORT=h2) is asked over HTTP/2, trusting the test
 * certificate, unless `http1` is set; the answer has the same shape either way.
 */
export function request(url: string, options: RequestOptions = {}): Promise<RawResponse> {
  if (new URL(url).protocol === 'https:' && !options.http1) return http2Request(url, options);
  return new Promise((resolve, reject) => {
    const { method = 'GET', headers, agent } = options;
    const secure = new URL(url).protocol === 'https:';
    const send = secure ? httpsRequest : httpRequest;
    const tls = secure ? { ca: testCertificate().cert } : {};
    const req = send(url, { method, headers, ...tls, ...(agent && { agent }) });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let aborted = false;
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('aborted', () => (aborted = true));
      res.on('error', () => (aborted = true));
      res.on('close', () => {
        const body = Buffer.concat(chunks);
        aborted ||= !res.complete;
        const { statusCode: status = 0, headers } = res;
        resolve({ status, headers, body, aborted, httpVersion: '1.1' });
      });
    });
    req.end();
  });
}

/** HTTP/1.1 headers that HTTP/2 forbids (RFC 9113 §8.2.2); `Host` becomes `:authority`. */
const CONNECTION_HEADERS = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
]);

/** One HTTP/2 session per origin, reused like a keep-alive agent, dropped once it closes. */
const sessions = new Map<string, ClientHttp2Session>();

function http2Session(origin: string): ClientHttp2Session {
  const open = sessions.get(origin);
  if (open && !open.closed && !open.destroyed) return open;
  const session = connect(origin, { ca: testCertificate().cert });
  // A session that fails fails its streams, which report it.
  session.on('error', () => undefined);
  session.once('close', () => sessions.get(origin) === session && sessions.delete(origin));
  session.once('goaway', () => sessions.get(origin) === session && sessions.delete(origin));
  session.unref();
  sessions.set(origin, session);
  return session;
}

function http2Request(url: string, options: RequestOptions): Promise<RawResponse> {
  const { origin, pathname, search } = new URL(url);
  const headers: OutgoingHttpHeaders = { ':method': options.method ?? 'GET' };
  headers[':path'] = pathname + search;
  for (const [name, value] of Object.entries(options.headers ?? {})) {
    const lower = name.toLowerCase();
    if (lower === 'host') headers[':authority'] = value;
    else if (!CONNECTION_HEADERS.has(lower)) headers[lower] = value;
  }
  return new Promise((resolve, reject) => {
    const stream = http2Session(origin).request(headers);
    const chunks: Buffer[] = [];
    let response: IncomingHttp2Headers | undefined;
    let ended = false;
    stream.on('response', (received) => (response = received));
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => (ended = true));
    // A reset after the response only cuts the body: 'close' reports it as aborted.
    stream.on('error', (error) => response ?? reject(error));
    stream.on('close', () => {
      if (!response) return reject(new Error(`stream closed before a response (${url})`));
      const { ':status': status, ...rest } = response;
      const aborted = !ended || stream.rstCode !== constants.NGHTTP2_NO_ERROR;
      const body = Buffer.concat(chunks);
      resolve({ status: Number(status), headers: rest, body, aborted, httpVersion: '2' });
    });
    stream.end();
  });
}

/**
 * A client that leaves mid-download: it sends a GET, then goes once `afterBytes` of the body
 * arrived (default: the first chunk), or `afterMs` after sending when given. Over HTTP/1.1 it
 * closes its own connection; over HTTP/2 (an https URL) it resets the stream (RST_STREAM
 * CANCEL) and keeps the session, as a browser cancelling one download does. Resolves with the
 * status (0 when no answer came first) and the number of body bytes received.
 */
export function leaveMidBody(
  url: string,
  { afterBytes = 1, afterMs }: { afterBytes?: number; afterMs?: number } = {},
): Promise<{ status: number; received: number }> {
  return new Promise((resolve, reject) => {
    let received = 0;
    let status = 0;
    let left = false;
    const { body, cancel } = startGet(url);
    const leave = () => {
      if (left) return;
      left = true;
      cancel();
      resolve({ status, received });
    };
    if (afterMs !== undefined) setTimeout(leave, afterMs);
    body.on('status', (code: number) => (status = code));
    body.on('data', (chunk: Buffer) => {
      received += chunk.length;
      if (afterMs === undefined && received >= afterBytes) leave();
    });
    body.on('error', (error) => (left ? undefined : reject(error)));
    body.on('close', () => (left ? undefined : reject(new Error('the body ended first'))));
  });
}

/** A GET whose body events ('status', 'data', 'close', 'error') arrive on one emitter. */
function startGet(url: string): { body: EventEmitter; cancel: () => void } {
  const body = new EventEmitter();
  if (new URL(url).protocol === 'https:') {
    const { origin, pathname, search } = new URL(url);
    const stream = http2Session(origin).request({ ':method': 'GET', ':path': pathname + search });
    stream.on('response', (headers) => body.emit('status', Number(headers[':status'])));
    for (const event of ['data', 'close', 'error']) {
      stream.on(event, (arg: unknown) => body.emit(event, arg));
    }
    stream.end();
    return { body, cancel: () => stream.close(constants.NGHTTP2_CANCEL) };
  }
  // A connection of its own, so that leaving closes it and nothing else.
  const req = httpRequest(url, { agent: false });
  req.on('response', (res) => {
    body.emit('status', res.statusCode ?? 0);
    res.on('data', (chunk: Buffer) => body.emit('data', chunk));
    res.on('close', () => body.emit('close'));
  });
  req.on('error', (error) => body.emit('error', error));
  req.end();
  return { body, cancel: () => req.destroy() };
}

/** Splits a multipart/byteranges body into its parts (headers and bytes), for comparisons. */
export function parseMultipart(
  body: Buffer,
  contentType: string,
): { headers: Record<string, string>; body: Buffer }[] {
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  if (!boundary) throw new Error(`no boundary in ${contentType}`);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: { headers: Record<string, string>; body: Buffer }[] = [];
  let at = body.indexOf(delimiter);
  while (at !== -1) {
    const afterDelimiter = at + delimiter.length;
    if (body.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') break;
    const headEnd = body.indexOf('\r\n\r\n', afterDelimiter);
    const next = body.indexOf(Buffer.concat([Buffer.from('\r\n'), delimiter]), headEnd);
    const headers = Object.fromEntries(
      body
        .subarray(afterDelimiter + 2, headEnd)
        .toString('latin1')
        .split('\r\n')
        .map((line) => line.split(/:\s*/, 2).map((s) => s.trim()) as [string, string])
        .map(([k, v]) => [k.toLowerCase(), v]),
    );
    parts.push({ headers, body: body.subarray(headEnd + 4, next) });
    at = next + 2;
  }
  return parts;
}

/** Open file descriptors of this process (Linux), to prove none leak. */
export async function openDescriptorCount(): Promise<number> {
  const { readdir } = await import('node:fs/promises');
  return (await readdir('/proc/self/fd')).length;
}
