import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import Router from '@koa/router';
import type { Context } from 'koa';
import { downloadview, type DownloadFile, type DownloadViewOptions } from '../../src/index.ts';
import { materialize } from '../../src/materialize/materialize.ts';
import type { Storage } from '../../src/storage.ts';
import { serve, type TestServer } from '../support/koa.ts';

/** A promise opened from outside: generators wait on it, so tests order events without timers. */
export interface Gate {
  readonly opened: Promise<void>;
  open(): void;
}

export function gate(): Gate {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Every file under `dir`, temporary names included, as sorted relative paths. */
export async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(dir, join(entry.parentPath, entry.name)))
    .sort();
}

/** What a materializing app reports: its server and how many generations it started. */
export interface MaterializingApp extends TestServer {
  readonly generations: number;
  /** Requests that reached the route, before materialize() was called. */
  readonly arrivals: number;
}

/**
 * An app whose route `GET /report/:key` materializes `generate()` into `storage` under the key
 * (the `key` parameter decoded, so tests can send hostile ones).
 */
export async function materializingApp(
  storage: Storage,
  generate: (ctx: Context) => DownloadFile | Promise<DownloadFile>,
  options: { timeout?: number; downloadview?: DownloadViewOptions } = {},
): Promise<MaterializingApp> {
  let generations = 0;
  let arrivals = 0;
  const router = new Router();
  router.get('/report/:key', async (ctx) => {
    arrivals++;
    ctx.body = await materialize({
      storage,
      key: ctx.params['key']!,
      generate: () => {
        generations++;
        return generate(ctx);
      },
      ...(options.timeout !== undefined && { timeout: options.timeout }),
    });
  });
  const server = await serve(downloadview(options.downloadview), router.routes());
  return {
    app: server.app,
    url: server.url,
    errors: server.errors,
    close: () => server.close(),
    get generations() {
      return generations;
    },
    get arrivals() {
      return arrivals;
    },
  };
}
