/**
 * How test apps listen: `h1`, plain HTTP/1.1 (the default); `h2` with TRANSPORT=h2
 * (`npm run test:h2`): node:http2's `createSecureServer` with `allowHTTP1`, so HTTP/2 clients
 * and HTTP/1.1-over-TLS clients (the reverse proxies) reach the same app. Anything else throws,
 * so a misspelt value cannot quietly run the HTTP/1.1 suite a second time.
 */
export const TRANSPORT: 'h1' | 'h2' = parseTransport(process.env.TRANSPORT);

function parseTransport(value: string | undefined): 'h1' | 'h2' {
  if (value === undefined || value === '' || value === 'h1') return 'h1';
  if (value === 'h2') return 'h2';
  throw new Error(`TRANSPORT must be h1 or h2, got ${JSON.stringify(value)}`);
}

/** The scheme of a test app's URL under the transport being tested. */
export const APP_SCHEME: 'http' | 'https' = TRANSPORT === 'h2' ? 'https' : 'http';

/**
 * Call in a `before` hook (with `function`, so `this` is mocha's context): under TRANSPORT=h2
 * the suite is marked pending with `reason`, printed, because it does not involve how the app
 * is reached (its app is not one of `serve()`'s) and `npm test` runs it already.
 * @example
 * before(function () {
 *   http1Only(this, 'the proxies in front of a plain node:http app, not of koa-downloadview');
 * });
 */
export function http1Only(ctx: Mocha.Context, reason: string): void {
  if (TRANSPORT !== 'h2') return;
  const title = ctx.currentTest?.title ?? ctx.test?.parent?.title ?? ctx.test?.title;
  console.warn(`\n  --- HTTP/1-only "${title}": ${reason}.\n`);
  ctx.skip();
}
