import { createDemoApp, DEMO_BACKENDS } from './app.ts';
import type { AddressInfo } from 'node:net';
import type { MiddlewareBackendName } from '../src/index.ts';

// PORT=0 asks the system for a free port; the URL printed is the one actually bound.
const port = Number(process.env.PORT ?? 3000);
// DEMO_BACKEND=nginx (or apache, lighttpd, caddy, redirect) with that proxy in front, set up
// from docs/proxies/ with FILES_DIR = demo/files; the default streams everything.
const backend = (process.env.DEMO_BACKEND ?? 'stream') as MiddlewareBackendName;
if (!DEMO_BACKENDS.includes(backend)) {
  console.error(`DEMO_BACKEND must be one of ${DEMO_BACKENDS.join(', ')}, got ${backend}`);
  process.exit(2);
}
const server = createDemoApp({ backend }).listen(port, '127.0.0.1', () => {
  const { port: bound } = server.address() as AddressInfo;
  console.log(`koa-downloadview demo (${backend}) listening on http://127.0.0.1:${bound}/`);
});
