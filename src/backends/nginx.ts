import type { Backend } from './backend.ts';
import { isHeaderSafe, percentEncodePath } from './header-values.ts';
import { answerOffloaded } from './offload.ts';

/** Options of the nginx backend; each becomes an `X-Accel-*` header nginx reads. */
export interface NginxOptions {
  /** `X-Accel-Buffering`: whether nginx buffers the file. Omitted: nginx's own setting. */
  buffering?: boolean;
  /** `X-Accel-Charset`: the charset nginx adds to Content-Type. Omitted when not given. */
  charset?: string;
  /** `X-Accel-Expires`: seconds the response may be cached by nginx, or `'off'`. */
  expires?: number | 'off';
  /** `X-Accel-Limit-Rate`: bytes per second sent to this client, or `'off'`. */
  limitRate?: number | 'off';
}

/**
 * nginx `X-Accel-Redirect`: the app answers with an internal URI and nginx serves the file
 * from the location behind it, with its own ranges and conditional requests. nginx
 * percent-decodes the URI, so each path segment is sent percent-encoded. A file matched by
 * an absolute `http(s)` URL (remote storage, S3) is proxied by nginx from that URL instead.
 *
 * @example
 * downloadview({ backend: nginx({ expires: 3600 }), rules: [{ sourceDir: '/srv/media', destinationUrl: '/protected/' }] });
 */
export function nginx(options: NginxOptions = {}): Backend {
  const headers = accelHeaders(options);
  return {
    name: 'nginx',
    destination: 'url',
    async deliver(ctx, file, target) {
      if (!target) return false;
      if (isRemote(target.url)) {
        // A URL put into X-Accel-Redirect reaches nginx percent-decoded, which breaks signed
        // URLs; it travels in its own header, which the documented `/remote/` location passes
        // to proxy_pass unchanged.
        const remote = { 'X-Accel-Redirect': target.destination, 'X-Offload-Url': target.url };
        // Metadata first (S3: a HEAD, no byte of the object): a missing object is the app's
        // 404, as when streaming, instead of the storage's error document under the app's
        // headers; and Content-Type follows the storage's record, as when streaming.
        const stat = await file.stat();
        answerOffloaded(ctx, file, { ...headers, ...remote }, stat);
        return true;
      }
      // Checked before encoding, as the other backends do: encoded, CR/LF/NUL would always
      // pass, and such a name is declined (streamed) by every backend alike.
      if (!isHeaderSafe(target.destination + target.rest)) return false;
      const location = target.destination + percentEncodePath(target.rest);
      answerOffloaded(ctx, file, { ...headers, 'X-Accel-Redirect': location });
      return true;
    },
  };
}

function isRemote(url: string | undefined): url is string {
  return url !== undefined && /^https?:\/\//i.test(url) && isHeaderSafe(url);
}

function accelHeaders(options: NginxOptions): Record<string, string> {
  const { buffering, charset, expires, limitRate } = options;
  const headers: Record<string, string> = {};
  if (buffering !== undefined) {
    if (typeof buffering !== 'boolean') throw optionError('buffering', 'true or false', buffering);
    headers['X-Accel-Buffering'] = buffering ? 'yes' : 'no';
  }
  if (charset !== undefined) {
    if (typeof charset !== 'string' || !/^[A-Za-z0-9._-]+$/.test(charset)) {
      throw optionError('charset', 'a charset name such as utf-8', charset);
    }
    headers['X-Accel-Charset'] = charset;
  }
  if (expires !== undefined) headers['X-Accel-Expires'] = secondsOrOff('expires', expires);
  if (limitRate !== undefined) headers['X-Accel-Limit-Rate'] = secondsOrOff('limitRate', limitRate);
  return headers;
}

function secondsOrOff(name: string, value: unknown): string {
  if (value === 'off') return 'off';
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return String(value);
  throw optionError(name, "a non-negative integer or 'off'", value);
}

function optionError(name: string, legal: string, value: unknown): TypeError {
  return new TypeError(`nginx option "${name}" must be ${legal}, got ${JSON.stringify(value)}`);
}
