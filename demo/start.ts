import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import type { MiddlewareBackendName } from '../src/index.ts';
import { createDemoApp, DEMO_BACKENDS } from './app.ts';
import type { DemoProxy } from './catalogue.ts';
import { startDemoS3, type DemoS3 } from './storages.ts';

/** A running demo: the app and the S3 server beside it. */
export interface RunningDemo {
  url: string;
  port: number;
  /** Closes the app and stops the S3 server. */
  stop(): Promise<void>;
}

/**
 * Reads `DEMO_BACKEND` (default `fallback`), or exits with code 2 naming the legal values.
 *
 * @example
 * const backend = demoBackend('stream');
 */
export function demoBackend(
  fallback: MiddlewareBackendName,
  allowed: readonly MiddlewareBackendName[] = DEMO_BACKENDS,
): MiddlewareBackendName {
  const backend = (process.env.DEMO_BACKEND ?? fallback) as MiddlewareBackendName;
  if (allowed.includes(backend)) return backend;
  console.error(`DEMO_BACKEND must be one of ${allowed.join(', ')}, got ${backend}`);
  return process.exit(2);
}

/**
 * Starts the embedded S3 server, then the demo app on 127.0.0.1:`port` (0: a free port).
 * Without S3 (s3rver missing) the demo still runs, without its S3 links, except under the
 * redirect backend, which needs it.
 *
 * @example
 * const demo = await startDemo({ backend: 'stream', port: 3000 });
 */
export async function startDemo(options: {
  backend: MiddlewareBackendName;
  port: number;
  proxy?: DemoProxy;
}): Promise<RunningDemo> {
  const s3 = await startDemoS3().catch((err: unknown) => {
    if (options.backend === 'redirect') throw err;
    console.warn(`!!! the embedded S3 server did not start, S3 links are left out: ${String(err)}`);
    return undefined;
  });
  try {
    return await listen(options, s3);
  } catch (err) {
    await s3?.stop();
    throw err;
  }
}

async function listen(
  options: { backend: MiddlewareBackendName; port: number; proxy?: DemoProxy },
  s3: DemoS3 | undefined,
): Promise<RunningDemo> {
  const log = (line: string) => console.log(line);
  const app = createDemoApp({ backend: options.backend }, { s3, proxy: options.proxy, log });
  const server = app.listen(options.port, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    stop: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await s3?.stop();
    },
  };
}
