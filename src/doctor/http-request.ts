import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { performance } from 'node:perf_hooks';

/** What the doctor sends. */
export interface DoctorRequest {
  /** Absolute http(s) URL. */
  readonly url: URL;
  /** `GET` unless said otherwise. */
  readonly method?: string;
  /** Extra request headers, sent as given (fetch would refuse or rewrite some of them). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Milliseconds for the whole exchange. */
  readonly timeoutMs: number;
  /** Accept a certificate no trusted authority signed (a self-signed `--public`). */
  readonly insecure?: boolean;
}

/** An answer, body included (at most `MAX_BODY_BYTES` of it). */
export interface DoctorResponse {
  readonly status: number;
  /** Header names in lower case, as Node gives them. */
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  /** Milliseconds from sending the request to the body's end. */
  readonly ms: number;
}

/** Why an exchange failed before an answer: no connection, a timeout, a TLS refusal. */
export class DoctorRequestError extends Error {
  /** Node's error code (`ECONNREFUSED`, `ETIMEDOUT`, `DEPTH_ZERO_SELF_SIGNED_CERT`, …). */
  readonly code: string;
  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DoctorRequestError';
    this.code = code;
  }
}

/** The probe is 2 KiB; anything much larger is not the probe, and need not be read whole. */
const MAX_BODY_BYTES = 1 << 20;

/**
 * One HTTP exchange with Node's own client: request headers go out exactly as given (fetch
 * drops `Host`-like and adds `Cache-Control` to conditional ones), no connection is reused, and
 * no proxy from the environment is used.
 *
 * @example
 * const answer = await doctorRequest({ url: new URL('http://127.0.0.1:3000/health/download'), timeoutMs: 5000 });
 */
export function doctorRequest(options: DoctorRequest): Promise<DoctorResponse> {
  const { url, timeoutMs } = options;
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = send(url, {
      method: options.method ?? 'GET',
      headers: { connection: 'close', ...options.headers },
      agent: false,
      rejectUnauthorized: options.insecure !== true,
    });
    // A deadline for the whole exchange, not an idle timeout: a proxy that drips one byte a
    // second must not hold the doctor for ever.
    const deadline = setTimeout(() => {
      req.destroy(new DoctorRequestError('ETIMEDOUT', `no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.once('close', () => clearTimeout(deadline));
    req.once('error', (err: NodeJS.ErrnoException) => {
      const code = err instanceof DoctorRequestError ? err.code : (err.code ?? 'EREQUEST');
      reject(new DoctorRequestError(code, `${url.origin}: ${err.message}`, { cause: err }));
    });
    req.once('response', (res) => {
      const chunks: Buffer[] = [];
      let length = 0;
      res.on('data', (chunk: Buffer) => {
        length += chunk.length;
        if (length <= MAX_BODY_BYTES) chunks.push(chunk);
        else res.destroy();
      });
      res.once('close', () => {
        // Cut short by the deadline or the peer, not by the size cap: no answer to judge.
        if (!res.complete && length <= MAX_BODY_BYTES) {
          reject(new DoctorRequestError('ETRUNCATED', `${url.origin}: the answer was cut short`));
          return;
        }
        const body = Buffer.concat(chunks);
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body,
          ms: performance.now() - started,
        });
      });
    });
    req.end();
  });
}

/**
 * A header's single value, or its values joined by `, `; `undefined` when absent.
 *
 * @example
 * headerValue(answer, 'x-sendfile');
 */
export function headerValue(response: DoctorResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}
