import { debugFor } from '../debug.ts';
import { checkOptionKeys } from '../options.ts';
import type { Backend } from './backend.ts';
import { offloadPath } from './header-values.ts';
import { answerOffloaded } from './offload.ts';

const debug = debugFor('lighttpd');

/**
 * lighttpd `X-Sendfile` through mod_proxy: the absolute filesystem path, each segment
 * percent-encoded (lighttpd percent-decodes the value). lighttpd then answers ranges and
 * conditional requests itself. `X-Sendfile2` is not offered: lighttpd honours it only from
 * FastCGI backends and passes it, unread, to the client through mod_proxy.
 *
 * @example
 * downloadview({ backend: lighttpd(), rules: [{ sourceDir: '/srv/media', destinationDir: '/srv/media' }] });
 */
export function lighttpd(options?: Record<string, never>): Backend {
  checkOptionKeys('lighttpd', options, {});
  return {
    name: 'lighttpd',
    destination: 'dir',
    async deliver(ctx, file, offload) {
      if (!offload?.target) return false;
      const { target } = offload;
      const path = offloadPath(target.destination + target.rest, 'percent');
      if (path === undefined) {
        debug('the path of %s cannot travel in X-Sendfile: streamed', file.filename);
        return false;
      }
      answerOffloaded(ctx, file, offload, { 'X-Sendfile': path });
      return true;
    },
  };
}
