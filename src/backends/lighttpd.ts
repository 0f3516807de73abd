import type { Backend } from './backend.ts';
import { isHeaderSafe, percentEncodePath } from './header-values.ts';
import { answerOffloaded } from './offload.ts';

/**
 * lighttpd `X-Sendfile` through mod_proxy: the absolute filesystem path, each segment
 * percent-encoded (lighttpd percent-decodes the value). lighttpd then answers ranges and
 * conditional requests itself. `X-Sendfile2` is not offered: lighttpd honours it only from
 * FastCGI backends and passes it, unread, to the client through mod_proxy.
 *
 * @example
 * downloadview({ backend: lighttpd(), rules: [{ sourceDir: '/srv/media', destinationDir: '/srv/media' }] });
 */
export function lighttpd(): Backend {
  return {
    name: 'lighttpd',
    destination: 'dir',
    async deliver(ctx, file, target) {
      if (!target) return false;
      const path = target.destination + target.rest;
      if (!isHeaderSafe(path)) return false;
      answerOffloaded(ctx, file, { 'X-Sendfile': percentEncodePath(path) });
      return true;
    },
  };
}
