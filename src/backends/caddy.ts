import { debugFor } from '../debug.ts';
import { checkOptionKeys } from '../options.ts';
import type { Backend } from './backend.ts';
import { offloadPath } from './header-values.ts';
import { answerOffloaded } from './offload.ts';

const debug = debugFor('caddy');

/**
 * Caddy: an `X-Accel-Redirect` style header that the documented Caddyfile matches in
 * `reverse_proxy { handle_response }` and serves with `file_server`. Caddy uses the value as
 * a literal path (raw UTF-8, no percent-decoding) and cuts it at `?`, so a name holding `?`
 * cannot be served by Caddy: such a file is declined and streamed by Koa instead. Caddy's
 * file_server derives its own ETag (its format, not the app's) and answers conditional
 * requests against it: a download resumed across Caddy and streaming restarts from zero.
 *
 * @example
 * downloadview({ backend: caddy(), rules: [{ sourceDir: '/srv/media', destinationUrl: '/protected/' }] });
 */
export function caddy(options?: Record<string, never>): Backend {
  checkOptionKeys('caddy', options, {});
  return {
    name: 'caddy',
    destination: 'url',
    async deliver(ctx, file, offload) {
      if (!offload?.target) return false;
      const { target } = offload;
      const location = target.destination + target.rest;
      const value = location.includes('?') ? undefined : offloadPath(location, 'raw');
      if (value === undefined) {
        debug(
          'the path of %s cannot travel to Caddy (a "?" or control characters): streamed',
          file.filename,
        );
        return false;
      }
      answerOffloaded(ctx, file, offload, { 'X-Accel-Redirect': value });
      return true;
    },
  };
}
