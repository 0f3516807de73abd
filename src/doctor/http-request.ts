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
    req.setTimeout(timeoutMs, () => {
      req.destroy(new DoctorRequestError('ETIMEDOUT', `no answer within ${timeoutMs} ms`));
    });
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
        const ms = performance.now() - started;
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks),
          ms,
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
