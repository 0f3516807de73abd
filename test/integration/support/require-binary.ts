import { skipOrFail } from '../../support/skip.ts';
import { APP_SCHEME, TRANSPORT } from '../../support/transport.ts';
import { findProxyBinary, reachesTlsUpstream, type ProxyKind } from './proxies.ts';

/**
 * Call in a `before` hook (with `function`, not an arrow, so `this` is mocha's context).
 * Returns the binary's path. When the proxy is missing the suite is skipped with a loud
 * warning, except on CI (`CI=true`), where a missing proxy must fail instead of letting
 * the integration tests pass by silently doing nothing.
 *
 * Under TRANSPORT=h2 the app is served over TLS only, which lighttpd cannot reach (its
 * mod_proxy speaks cleartext HTTP): such a suite is marked pending with that reason, on CI
 * too, since `npm test` runs it over HTTP/1.1. `upstreamScheme` says how this suite's proxy
 * reaches its app, when that app is not one of `serve()`'s.
 * @example
 * before(function () {
 *   requireBinary(this, 'nginx');
 * });
 */
export function requireBinary(
  ctx: Mocha.Context,
  kind: ProxyKind,
  { upstreamScheme = APP_SCHEME }: { upstreamScheme?: 'http' | 'https' } = {},
): string {
  const binary = findProxyBinary(kind);
  if (binary === undefined) {
    return skipOrFail(
      ctx,
      `${kind} is not installed${kind === 'apache' ? ' (apache2 + mod_xsendfile)' : ''}`,
    );
  }
  if (upstreamScheme === 'https' && !reachesTlsUpstream(kind)) {
    const title = ctx.currentTest?.title ?? ctx.test?.title;
    const reason = `${kind} cannot reach an app over TLS (TRANSPORT=${TRANSPORT}); npm test runs it over HTTP/1.1`;
    console.warn(`\n  --- HTTP/1-only "${title}": ${reason}.\n`);
    return ctx.skip();
  }
  return binary;
}
