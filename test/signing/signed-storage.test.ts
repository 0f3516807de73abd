import Router from '@koa/router';
import { expect } from 'chai';
import {
  downloadview,
  signatureRequired,
  signedUrls,
  StorageFile,
  storageDownload,
  type Storage,
} from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { tempTree } from '../support/fixtures.ts';
import { request } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { fieldOf, SECRET } from './support.ts';

const FILES = { 'report 2026.txt': 'the report\n', 'été/résumé.txt': 'accents\n' };

/** A server holding the files behind `signatureRequired`, streamed by its own downloadview(). */
async function filesServer(storage: Storage, secrets = [SECRET]): Promise<TestServer> {
  const router = new Router();
  router.get('/media/*path', signatureRequired({ secrets }), storageDownload({ storage }));
  return serve(downloadview(), router.routes());
}

/** An app that redirects `/download/<name>` to the signed URL of `name` in `storage`. */
async function redirectingApp(storage: Storage): Promise<TestServer> {
  const router = new Router();
  router.get('/download/*name', (ctx) => {
    ctx.body = new StorageFile(storage, String(ctx.params.name));
  });
  return serve(downloadview({ backend: 'redirect' }), router.routes());
}

describe('signedUrls', () => {
  const inner = new MemoryStorage({ baseUrl: 'https://cdn.test/media/', files: FILES });
  const options = { secret: SECRET, expiresIn: 300 };

  it('signs the inner storage URL, each time it is asked', async () => {
    const signed = signedUrls(inner, options);
    const url = await signed.url!('report 2026.txt');
    expect(url).to.match(/^https:\/\/cdn\.test\/media\/report%202026\.txt\?sig=v1\./);
  });

  it('passes everything else through, keeping the driver label', async () => {
    const signed = signedUrls(inner, options);
    expect(signed.driver).to.equal('memory');
    expect((await signed.stat('report 2026.txt')).size).to.equal(11);
    expect(await signed.exists!('missing')).to.equal(false);
    await signed.save!('new.txt', 'n');
    expect(await inner.exists('new.txt')).to.equal(true);
    await signed.delete!('new.txt');
    const opened = await signed.openFile!('report 2026.txt');
    expect((await opened.read()).toString()).to.equal('the report\n');
  });

  it('keeps optional methods optional: none appears that the inner storage lacks', () => {
    const bare: Storage = {
      driver: 'bare',
      stat: inner.stat.bind(inner),
      open: inner.open.bind(inner),
    };
    const signed = signedUrls(bare, options);
    expect(Object.keys(signed).sort()).to.deep.equal(['driver', 'open', 'stat']);
  });

  it('rejects as the inner storage does when it has no URL', async () => {
    const signed = signedUrls(new MemoryStorage({ files: FILES }), options);
    await signed.url!('report 2026.txt').then(
      () => expect.fail('resolved'),
      (err: Error) => expect(err.name).to.equal('StorageUnsupportedError'),
    );
  });

  it('checks its options at construction', () => {
    expect(() => signedUrls(inner, { ...options, expiresIn: 0 })).to.throw(/"expiresIn"/);
    expect(() => signedUrls(inner, { ...options, secret: 'short' })).to.throw(/32 bytes/);
    expect(() => signedUrls({} as Storage, options)).to.throw(/must be a Storage/);
    expect(() => signedUrls(inner, { ...options, bogus: 1 } as never)).to.throw(/"bogus"/);
  });
});

describe('signedUrls + redirect + signatureRequired, end to end', () => {
  for (const kind of ['memory', 'filesystem'] as const) {
    it(`redirects to a signed ${kind} URL that another server verifies and serves`, async () => {
      const tree = await tempTree(FILES);
      // The files server first: the storage's baseUrl is its address.
      let files: TestServer | undefined;
      let app: TestServer | undefined;
      try {
        const plain =
          kind === 'memory'
            ? new MemoryStorage({ files: FILES })
            : new FileSystemStorage({ location: tree.dir });
        files = await filesServer(plain);
        const baseUrl = `${files.url}/media/`;
        const withUrl =
          kind === 'memory'
            ? new MemoryStorage({ baseUrl, files: FILES })
            : new FileSystemStorage({ location: tree.dir, baseUrl });
        app = await redirectingApp(signedUrls(withUrl, { secret: SECRET, expiresIn: 60 }));
        for (const [name, body] of Object.entries(FILES)) {
          const res = await request(`${app.url}/download/${encodeURI(name)}`);
          expect(res.status).to.equal(302);
          const location = String(res.headers.location);
          expect(location.startsWith(baseUrl)).to.equal(true);
          const served = await request(location);
          expect([served.status, served.body.toString()]).to.deep.equal([200, body]);
          // Without its signature, or with another path, the same URL is refused.
          const unsigned = location.slice(0, location.indexOf('?'));
          expect((await request(unsigned)).status).to.equal(403);
          const replayed = location.replace('/media/', '/media/x');
          expect((await request(replayed)).status).to.equal(403);
        }
      } finally {
        await Promise.all([files?.close(), app?.close()]);
        await tree.cleanup();
      }
    });
  }

  it('works within one app: a relative baseUrl and a route that streams what it verified', async () => {
    const storage = new MemoryStorage({ baseUrl: '/media/', files: FILES });
    const signed = signedUrls(storage, { secret: SECRET, expiresIn: 60, bind: { method: 'GET' } });
    const router = new Router();
    router.get('/download/*name', (ctx) => {
      ctx.body = new StorageFile(signed, String(ctx.params.name));
    });
    // A downloadview() of its own streams here, where the app-wide one would redirect again.
    const verify = signatureRequired({ secrets: [SECRET] });
    router.get('/media/*path', verify, downloadview(), storageDownload({ storage }));
    const app = await serve(downloadview({ backend: 'redirect' }), router.routes());
    try {
      const res = await request(`${app.url}/download/report%202026.txt`);
      const location = String(res.headers.location);
      expect([res.status, fieldOf(location, 4)]).to.deep.equal([302, 'GET']);
      const served = await request(app.url + location);
      expect([served.status, served.body.toString()]).to.deep.equal([200, 'the report\n']);
      const ranged = await request(app.url + location, { headers: { Range: 'bytes=4-9' } });
      expect([ranged.status, ranged.body.toString()]).to.deep.equal([206, 'report']);
    } finally {
      await app.close();
    }
  });
});
