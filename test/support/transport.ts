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
