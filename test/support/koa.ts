import { createRequire } from 'node:module';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';

/** The Koa major under test: 3 by default, 2 with KOA_MAJOR=2 (`npm run test:koa2`). */
export const KOA_MAJOR = process.env.KOA_MAJOR === '2' ? 2 : 3;

// Koa is CommonJS, so it is loaded synchronously (test files may be compiled to CommonJS,
// where a top-level await is not available).
const requireModule = createRequire(import.meta.url);
const KoaClass = requireModule(KOA_MAJOR === 2 ? 'koa2' : 'koa') as typeof Koa;

/** A listening test server and what tests need of it. */
export interface TestServer {
  readonly app: Koa;
  readonly url: string;
  readonly errors: Error[];
  close(): Promise<void>;
}

/**
 * Starts a Koa app (of the major under test) on a free loopback port with the given middleware.
 * Errors the app reports through `app.emit('error')` are collected instead of printed.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- router middleware narrows ctx
export async function serve(...middleware: Middleware<any, any>[]): Promise<TestServer> {
  const app = new KoaClass();
  const errors: Error[] = [];
  app.on('error', (err: Error) => errors.push(err));
  for (const m of middleware) app.use(m);
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    app,
    url: `http://127.0.0.1:${port}`,
    errors,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Koa app factory for tests that need the bare app. */
export function createApp(): Koa {
  return new KoaClass();
}
