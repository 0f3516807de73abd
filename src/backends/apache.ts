import { debugFor } from '../debug.ts';
import { checkOptionKeys } from '../options.ts';
import type { Backend } from './backend.ts';
import { offloadPath } from './header-values.ts';
import { answerOffloaded } from './offload.ts';

const debug = debugFor('apache');

/**
 * Apache with mod_xsendfile: `X-Sendfile` carries the absolute filesystem path, as raw UTF-8
 * bytes (mod_xsendfile does not percent-decode). The file's own ETag and Last-Modified are
 * sent along, because mod_xsendfile otherwise answers `ETag: "0"` for every file. A
 * precompressed variant is streamed instead: mod_xsendfile drops its Content-Encoding.
 *
 * @example
 * downloadview({ backend: apache(), rules: [{ sourceDir: '/srv/media', destinationDir: '/srv/media' }] });
 */
export function apache(options?: Record<string, never>): Backend {
  checkOptionKeys('apache', options, {});
  return {
    name: 'apache',
    destination: 'dir',
    async deliver(ctx, file, offload) {
      if (!offload?.target) return false;
      if (file.contentEncoding !== undefined) {
        // mod_xsendfile drops the app's Content-Encoding, and mod_headers runs too early to
        // put it back: the client would get compressed bytes it was never told about.
        debug(
          '%s is a %s variant, whose encoding mod_xsendfile drops: streamed',
          file.filename,
          file.contentEncoding,
        );
        return false;
      }
      const { target } = offload;
      const path = offloadPath(target.destination + target.rest, 'raw');
      if (path === undefined) {
        debug('the path of %s cannot travel in X-Sendfile: streamed', file.filename);
        return false;
      }
      answerOffloaded(ctx, file, offload, { 'X-Sendfile': path });
      return true;
    },
  };
}
