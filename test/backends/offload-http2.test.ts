import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { downloadview, StorageFile, type BackendName } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { tempTree } from '../support/fixtures.ts';
import { request } from '../support/http.ts';
import { KOA_MAJOR, serveOver, type TestServer } from '../support/koa.ts';

// An app on node:http2 (TLS, allowHTTP1) that offloads: Caddy reaches such an app over HTTP/2,
// and a HEAD there must be answered like a GET, without its body, on Koa 2 as on Koa 3.

const DESTINATIONS = {
  nginx: { destinationUrl: '/protected/' },
  caddy: { destinationUrl: '/protected/' },
  apache: { destinationDir: '/srv/media' },
  lighttpd: { destinationDir: '/srv/media' },
} satisfies Partial<Record<BackendName, object>>;

describe(`offload backends over HTTP/2 (TLS, allowHTTP1, Koa ${KOA_MAJOR})`, () => {
  for (const [backend, destination] of Object.entries(DESTINATIONS)) {
    describe(backend, () => {
      let server: TestServer;
      let cleanup: () => Promise<void>;
      before(async () => {
        const tree = await tempTree({ 'a.txt': 'offloaded\n' });
        cleanup = tree.cleanup;
        const storage = new FileSystemStorage({ location: tree.dir });
        const rules = [{ sourceDir: tree.dir, ...destination }];
        const view = downloadview({ backend: backend as BackendName, rules });
        server = await serveOver('h2', view, (ctx) => {
          ctx.body = new StorageFile(storage, 'a.txt');
        });
      });
      after(async () => {
        await server.close();
        await cleanup();
      });

      it('answers HEAD with the offload answer and no body, within 2 s', async () => {
        const res = await Promise.race([
          request(`${server.url}/a.txt`, { method: 'HEAD' }),
          sleep(2000).then(() => expect.fail('HEAD over HTTP/2 did not end within 2 s')),
        ]);
        expect([res.httpVersion, res.status, res.body.length]).to.deep.equal(['2', 200, 0]);
        const header =
          backend === 'apache' || backend === 'lighttpd' ? 'x-sendfile' : 'x-accel-redirect';
        expect(res.headers[header]).to.be.a('string');
        expect(server.errors).to.deep.equal([]);
      });
    });
  }
});
