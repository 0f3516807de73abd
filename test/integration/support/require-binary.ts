import { skipOrFail } from '../../support/skip.ts';
import { findProxyBinary, type ProxyKind } from './proxies.ts';

/**
 * Call in a `before` hook (with `function`, not an arrow, so `this` is mocha's context).
 * Returns the binary's path. When the proxy is missing the suite is skipped with a loud
 * warning, except on CI (`CI=true`), where a missing proxy must fail instead of letting
 * the integration tests pass by silently doing nothing.
 * @example
 * before(function () {
 *   requireBinary(this, 'nginx');
 * });
 */
export function requireBinary(ctx: Mocha.Context, kind: ProxyKind): string {
  const binary = findProxyBinary(kind);
  if (binary !== undefined) return binary;
  return skipOrFail(
    ctx,
    `${kind} is not installed${kind === 'apache' ? ' (apache2 + mod_xsendfile)' : ''}`,
  );
}
