import type { Backend } from './backend.ts';
import { isHeaderSafe, rawUtf8 } from './header-values.ts';
import { answerOffloaded, validatorHeaders } from './offload.ts';

/**
 * Apache with mod_xsendfile: `X-Sendfile` carries the absolute filesystem path, as raw UTF-8
 * bytes (mod_xsendfile does not percent-decode). The file's own ETag and Last-Modified are
 * sent along, because mod_xsendfile otherwise answers `ETag: "0"` for every file.
 *
 * @example
 * downloadview({ backend: apache(), rules: [{ sourceDir: '/srv/media', destinationDir: '/srv/media' }] });
 */
export function apache(): Backend {
  return {
    name: 'apache',
    destination: 'dir',
    async deliver(ctx, file, target) {
      if (!target) return false;
      const path = target.destination + target.rest;
      if (!isHeaderSafe(path)) return false;
      const stat = await file.stat();
      answerOffloaded(ctx, file, { ...validatorHeaders(stat), 'X-Sendfile': rawUtf8(path) }, stat);
      return true;
    },
  };
}
