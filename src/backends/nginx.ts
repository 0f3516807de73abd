import { debugFor } from '../debug.ts';
import { checkOptionKeys, type OptionKeys } from '../options.ts';
import type { Backend } from './backend.ts';
import { offloadPath } from './header-values.ts';
import { answerOffloaded, asksAboutEtag, nginxEtag } from './offload.ts';

const debug = debugFor('nginx');

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
  checkOptionKeys('nginx', options, NGINX_OPTION_KEYS);
  const headers = accelHeaders(options);
  return {
    name: 'nginx',
    destination: 'url',
    async deliver(ctx, file, offload) {
      if (!offload?.target) return false;
      const { target } = offload;
      if (isAbsoluteHttp(target.url)) {
        // Not a URI nginx can proxy to (a space, a control or non-ASCII character): nginx would
        // answer 400, and a local X-Accel-Redirect into the remote location (no X-Offload-Url)
        // its 500. Nor one longer than the response header nginx reads from the app (502).
        // Declined, so Koa streams it.
        if (!isUri(target.url)) {
          debug('the URL of %s cannot travel in X-Offload-Url: streamed', file.filename);
          return false;
        }
        // A URL put into X-Accel-Redirect reaches nginx percent-decoded, which breaks signed
        // URLs; it travels in its own header, which the documented `/remote/` location passes
        // to proxy_pass unchanged. Its metadata was read first (S3: a HEAD, no byte of the
        // object), so Content-Type follows the storage's record, as when streaming.
        const remote = { 'X-Accel-Redirect': target.destination, 'X-Offload-Url': target.url };
        answerOffloaded(ctx, file, offload, { ...headers, ...remote });
        return true;
      }
      const location = offloadPath(target.destination + target.rest, 'percent');
      if (location === undefined) {
        debug('the path of %s cannot travel in X-Accel-Redirect: streamed', file.filename);
        return false;
      }
      // nginx answers If-Match / If-None-Match / If-Range against its own tag; when that is not
      // the app's (etag: 'content', or a tag the storage supplied), streaming answers them.
      if (asksAboutEtag(ctx) && offload.validators.etag !== nginxEtag(offload)) {
        debug('%s: the request asks about an ETag nginx did not derive: streamed', file.filename);
        return false;
      }
      answerOffloaded(ctx, file, offload, { ...headers, 'X-Accel-Redirect': location });
      return true;
    },
  };
}

/** The keys of `NginxOptions`, for wrappers that accept them beside their own. */
export const NGINX_OPTION_KEYS: OptionKeys<NginxOptions> = {
  buffering: true,
  charset: true,
  expires: true,
  limitRate: true,
};

function isAbsoluteHttp(url: string | undefined): url is string {
  return url !== undefined && /^https?:\/\//i.test(url);
}

/**
 * The longest X-Offload-Url sent: 8 KiB, the request line most origins accept, and well inside
 * the 16 KiB `proxy_buffer_size` of docs/proxies/nginx.conf. Presigned S3 URLs are 1-2 KiB.
 */
const MAX_OFFLOAD_URL = 8192;

/** Visible ASCII only (RFC 3986 §2: anything else must be percent-encoded in a URI). */
function isUri(url: string): boolean {
  return url.length <= MAX_OFFLOAD_URL && /^[\x21-\x7e]+$/.test(url);
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
