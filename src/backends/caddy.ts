import type { Backend } from './backend.ts';
import { isHeaderSafe, rawUtf8 } from './header-values.ts';
import { answerOffloaded } from './offload.ts';

/**
 * Caddy: an `X-Accel-Redirect` style header that the documented Caddyfile matches in
 * `reverse_proxy { handle_response }` and serves with `file_server`. Caddy uses the value as
 * a literal path (raw UTF-8, no percent-decoding) and cuts it at `?`, so a name holding `?`
 * cannot be served by Caddy: such a file is declined and streamed by Koa instead.
 *
 * @example
 * downloadview({ backend: caddy(), rules: [{ sourceDir: '/srv/media', destinationUrl: '/protected/' }] });
 */
export function caddy(): Backend {
  return {
    name: 'caddy',
    destination: 'url',
    async deliver(ctx, file, target) {
      if (!target) return false;
      const location = target.destination + target.rest;
      if (location.includes('?') || !isHeaderSafe(location)) return false;
      answerOffloaded(ctx, file, { 'X-Accel-Redirect': rawUtf8(location) });
      return true;
    },
  };
}
