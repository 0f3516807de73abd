import { chmod, mkdtemp, realpath, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context, Next } from 'koa';
import { auto, downloadview, healthcheck, type DownloadViewOptions } from '../../../src/index.ts';
import { FileSystemStorage } from '../../../storages/filesystem.ts';
import { serve, type TestServer } from '../../support/koa.ts';
import {
  startProxy,
  type ProxyKind,
  type RunningProxy,
} from '../../integration/support/proxies.ts';

/** The probe route's path, on the app and through the proxy. */
export const HEALTH_PATH = '/health/download';
/** The probe's name in the storage. */
export const PROBE_NAME = 'health/probe.txt';

/** How the app chooses its backend: the proxy's own, or `auto` configured by the proxy. */
export type AppMode = 'named' | 'auto' | 'stream';

/** A running app (and proxy, unless none), with the URLs the doctor takes. */
export interface Deployment {
  readonly appUrl: string;
  readonly publicUrl: string;
  readonly filesDir: string;
  readonly proxy?: RunningProxy;
  stop(): Promise<void>;
}

/** downloadview() options for an app offloading `filesDir` to `kind` as docs/proxies/ expects. */
export function middlewareOptions(
  kind: ProxyKind | undefined,
  mode: AppMode,
  filesDir: string,
): DownloadViewOptions {
  if (mode === 'stream' || kind === undefined) return {};
  if (mode === 'auto') {
    const sendfile = kind === 'apache' || kind === 'lighttpd' ? kind : undefined;
    return { backend: auto({ trustedProxies: ['127.0.0.1'], sendfile }) };
  }
  const destination =
    kind === 'nginx' || kind === 'caddy'
      ? { destinationUrl: '/protected/' }
      : { destinationDir: filesDir };
  return { backend: kind, rules: [{ sourceDir: filesDir, ...destination }] };
}

/**
 * Starts a Koa app serving `healthcheck()` at HEALTH_PATH from a fresh, world-readable files
 * directory, and the real proxy in front of it with the documented config (or `editConfig`'s).
 */
export async function startDeployment(
  kind: ProxyKind | undefined,
  mode: AppMode,
  editConfig?: (template: string) => string,
): Promise<Deployment> {
  // The real path: the mappings and XSendFilePath compare resolved paths.
  const filesDir = await realpath(await mkdtemp(join(tmpdir(), 'kdv-doctor-')));
  await chmod(filesDir, 0o755);
  const storage = new FileSystemStorage({ location: filesDir });
  const probe = healthcheck({ storage, name: PROBE_NAME });
  const route = async (ctx: Context, next: Next) =>
    ctx.path === HEALTH_PATH ? probe(ctx) : next();
  const app: TestServer = await serve(downloadview(middlewareOptions(kind, mode, filesDir)), route);
  const proxy =
    kind === undefined
      ? undefined
      : await startProxy(kind, {
          upstreamPort: Number(new URL(app.url).port),
          filesDir,
          editConfig,
        }).catch(async (err: unknown) => {
          await app.close();
          throw err;
        });
  return {
    appUrl: app.url + HEALTH_PATH,
    publicUrl: (proxy?.url ?? app.url) + HEALTH_PATH,
    filesDir,
    proxy,
    async stop() {
      await proxy?.stop();
      await app.close();
      await rm(filesDir, { recursive: true, force: true });
    },
  };
}

/**
 * Replaces `search` in a config, failing when it is not there exactly once: a broken variant is
 * only worth testing when the edit really happened.
 */
export function edit(search: string | RegExp, replacement: string): (template: string) => string {
  return (template) => {
    const matches = template.match(
      typeof search === 'string' ? new RegExp(escape(search), 'g') : new RegExp(search, 'g'),
    );
    if (matches?.length !== 1)
      throw new Error(`config edit: ${String(search)} found ${matches?.length ?? 0} times`);
    return template.replace(search, replacement);
  };
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
