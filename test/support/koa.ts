import { createRequire } from 'node:module';
import { createServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import { testCertificate } from './tls.ts';
import { TRANSPORT } from './transport.ts';

/** The Koa major under test: 3 by default, 2 with KOA_MAJOR=2 (`npm run test:koa2`). */
export const KOA_MAJOR = process.env.KOA_MAJOR === '2' ? 2 : 3;

export { TRANSPORT } from './transport.ts';

// Koa is CommonJS, so it is loaded synchronously (test files may be compiled to CommonJS,
// where a top-level await is not available).
const requireModule = createRequire(import.meta.url);
const KoaClass = requireModule(KOA_MAJOR === 2 ? 'koa2' : 'koa') as typeof Koa;

/** A listening test server and what tests need of it. */
export interface TestServer {
  readonly app: Koa;
  /** `http://127.0.0.1:<port>`, or `https://…` under TRANSPORT=h2. */
  readonly url: string;
  readonly errors: Error[];
  close(): Promise<void>;
}

/**
 * Starts a Koa app (of the major under test) on a free loopback port with the given middleware,
 * over the transport under test (see TRANSPORT). Errors the app reports through
 * `app.emit('error')` are collected instead of printed.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- router middleware narrows ctx
export function serve(...middleware: Middleware<any, any>[]): Promise<TestServer> {
  return serveOver(TRANSPORT, ...middleware);
}

/** `serve()` over the given transport, whatever TRANSPORT says. */
export function serveOver(
  transport: 'h1' | 'h2',
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- router middleware narrows ctx
  ...middleware: Middleware<any, any>[]
): Promise<TestServer> {
  const app = new KoaClass();
  for (const m of middleware) app.use(m);
  return serveApp(app, transport);
}

/**
 * Listens with an app already built (from `createApp()`), like `serve()`: a free loopback
 * port, the transport under test unless given, errors collected.
 */
export async function serveApp(app: Koa, transport = TRANSPORT): Promise<TestServer> {
  const errors: Error[] = [];
  app.on('error', (err: Error) => errors.push(err));
  const { server, closeAll } = transport === 'h2' ? secureServer(app) : plainServer(app);
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    app,
    url: `${transport === 'h2' ? 'https' : 'http'}://127.0.0.1:${port}`,
    errors,
    close: () =>
      new Promise((resolve) => {
        closeAll();
        server.close(() => resolve());
      }),
  };
}

interface Listening {
  server: NetServer;
  /** Cuts every open connection, so `close()` does not wait for idle clients. */
  closeAll: () => void;
}

function plainServer(app: Koa): Listening {
  // What app.listen() does, without listening yet.
  const server = createServer(app.callback());
  return { server, closeAll: () => server.closeAllConnections() };
}

function secureServer(app: Koa): Listening {
  const { key, cert } = testCertificate();
  const server = createSecureServer({ key, cert, allowHTTP1: true }, app.callback());
  // Both HTTP/2 sessions and HTTP/1.1 connections arrive as TLS sockets.
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  return { server, closeAll: () => sockets.forEach((socket) => socket.destroy()) };
}

/** Koa app factory for tests that need the bare app. */
export function createApp(): Koa {
  return new KoaClass();
}
