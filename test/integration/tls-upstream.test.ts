import { expect } from 'chai';
import type { Context, Next } from 'koa';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadview, VirtualFile } from '../../src/index.ts';
import { request } from '../support/http.ts';
import { serveOver, type TestServer } from '../support/koa.ts';
import { requireBinary } from './support/require-binary.ts';
import { startProxy, type ProxyKind, type RunningProxy } from './support/proxies.ts';

// The documented proxy configs with only their upstream lines pointed at an app served by
// node:http2's createSecureServer with allowHTTP1 (what `npm run test:h2` runs every
// integration suite behind). Runs in both transports: it starts its own TLS app.

const BODY = 'bytes over TLS\n'.repeat(1000);

interface Seen {
  encrypted: boolean;
  httpVersion: string;
  method: string;
}

/** An app over TLS that records how each request reached it, and streams BODY. */
async function tlsApp(seen: Seen[]): Promise<TestServer> {
  const record = async (ctx: Context, next: Next) => {
    const socket = ctx.req.socket as typeof ctx.req.socket & { encrypted?: boolean };
    const { httpVersion, method = '' } = ctx.req;
    seen.push({ encrypted: socket.encrypted === true, httpVersion, method });
    await next();
  };
  const route = (ctx: Context) => {
    ctx.body = new VirtualFile(BODY, { name: 'tls.txt' });
  };
  return serveOver('h2', record, downloadview(), route);
}

describe('the documented proxy configs in front of an app served over TLS (node:http2, allowHTTP1)', () => {
  for (const kind of ['nginx', 'apache', 'caddy'] as const satisfies ProxyKind[]) {
    describe(kind, () => {
      const seen: Seen[] = [];
      let app: TestServer | undefined;
      let proxy: RunningProxy | undefined;
      let filesDir: string;

      before(async function () {
        requireBinary(this, kind, { upstreamScheme: 'https' });
        filesDir = await mkdtemp(join(tmpdir(), 'kdv-tls-files-'));
        app = await tlsApp(seen);
        const upstreamPort = Number(new URL(app.url).port);
        proxy = await startProxy(kind, { upstreamPort, filesDir, upstreamScheme: 'https' });
      });
      after(async () => {
        await proxy?.stop();
        await app?.close();
        if (filesDir) await rm(filesDir, { recursive: true, force: true });
      });
      beforeEach(() => (seen.length = 0));

      it('reaches the app over TLS and passes on its streamed body', async () => {
        const res = await request(`${proxy!.url}/tls.txt`);
        expect([res.status, res.body.toString() === BODY, res.aborted]).to.deep.equal([
          200,
          true,
          false,
        ]);
        expect(seen.map((s) => s.encrypted)).to.deep.equal([true]);
        // Caddy offers HTTP/2 over TLS to its upstreams; nginx and Apache speak HTTP/1.x.
        const expected = kind === 'caddy' ? ['2.0'] : ['1.0', '1.1'];
        expect(expected).to.include(seen[0]!.httpVersion);
      });

      it('passes on a HEAD the app answered over TLS: headers, no body, no hang', async () => {
        const res = await request(`${proxy!.url}/tls.txt`, { method: 'HEAD' });
        expect([res.status, res.body.length]).to.deep.equal([200, 0]);
        expect(res.headers['content-length']).to.equal(String(BODY.length));
        expect(seen.map((s) => [s.encrypted, s.method])).to.deep.equal([[true, 'HEAD']]);
      });
    });
  }

  it('lighttpd: refused with the reason, since its mod_proxy cannot speak TLS to a backend', async () => {
    const attempt = startProxy('lighttpd', {
      upstreamPort: 1,
      filesDir: tmpdir(),
      upstreamScheme: 'https',
    });
    await attempt.then(
      (proxy) => proxy.stop().then(() => expect.fail('lighttpd started with a TLS upstream')),
      (error: Error) =>
        expect(error.message).to.match(/lighttpd cannot reach an upstream over TLS/),
    );
  });
});
