import Router from '@koa/router';
import { expect } from 'chai';
import { downloadview, signatureRequired, signUrl, storageDownload } from '../../src/index.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { fetchLink, fetchRawPath, SECRET } from './support.ts';

const FILES = { 'a.txt': 'A', 'a~b.txt': 'tilde', 'été.txt': 'accents', 'a!.txt': 'bang' };

describe('signatureRequired: one canonical path', () => {
  let server: TestServer;
  before(async () => {
    const router = new Router();
    const storage = new MemoryStorage({ files: FILES });
    const guard = signatureRequired({ secrets: [SECRET] });
    router.get('/media/*path', guard, storageDownload({ storage }));
    server = await serve(downloadview(), router.routes());
  });
  after(() => server.close());

  const sign = (path: string) => signUrl(path, { secret: SECRET, expiresIn: 60 });
  const pathOf = (link: string) => link.slice(0, link.indexOf('?'));
  const queryOf = (link: string) => link.slice(link.indexOf('?'));

  it('writes the canonical path into the link: unreserved escapes decoded, hex upper case', () => {
    expect(pathOf(sign('/media/a%7eb.txt'))).to.equal('/media/a~b.txt');
    expect(pathOf(sign('/media/%c3%a9t%c3%a9.txt'))).to.equal('/media/%C3%A9t%C3%A9.txt');
    expect(pathOf(sign('/media/été.txt'))).to.equal('/media/%C3%A9t%C3%A9.txt');
    expect(pathOf(sign('https://cdn.test/media/a b.txt'))).to.equal(
      'https://cdn.test/media/a%20b.txt',
    );
  });

  for (const [signed, variants, body] of [
    ['/media/a~b.txt', ['/media/a%7Eb.txt', '/media/a%7eb.txt', '/media/%61~b.txt'], 'tilde'],
    [
      '/media/%C3%A9t%C3%A9.txt',
      ['/media/%c3%a9t%c3%a9.txt', '/media/%C3%a9t%c3%A9.txt'],
      'accents',
    ],
    ['/media/a.txt', ['/media/%61%2E%74%78%74', '/media/%61.txt'], 'A'],
  ] as const) {
    it(`serves every spelling of ${signed} that differs by unreserved escapes or hex case`, async () => {
      const query = queryOf(sign(signed));
      for (const variant of [signed, ...variants]) {
        const res = await fetchLink(server, variant + query);
        expect([variant, res.status, res.body.toString()]).to.deep.equal([variant, 200, body]);
      }
    });
  }

  it('refuses, never equates, an escape of a reserved character (%21 is not !)', async () => {
    const query = queryOf(sign('/media/a!.txt'));
    expect((await fetchLink(server, `/media/a!.txt${query}`)).status).to.equal(200);
    const res = await fetchLink(server, `/media/a%21.txt${query}`);
    expect([res.status, res.body.toString()]).to.deep.equal([403, 'Invalid signature']);
  });

  describe('security: dot segments, empty segments and encoded separators', () => {
    // The guard before any router, so that it sees every path, even those no route matches.
    let guarded: TestServer;
    before(async () => {
      guarded = await serve(signatureRequired({ secrets: [SECRET] }), (ctx) => {
        ctx.body = 'passed';
      });
    });
    after(() => guarded.close());

    const HOSTILE = [
      '/media/x/../a.txt',
      '/media/x/%2e%2e/a.txt',
      '/media/x/%2E%2e/a.txt',
      '/media/x/.%2e/a.txt',
      '/media/./a.txt',
      '/media/%2e/a.txt',
      '/media/a.txt/..',
      '/media//a.txt',
      '//media/a.txt',
      '/media/a.txt//',
      '/media/x%2F..%2Fa.txt',
      '/media/x%2f..%2fa.txt',
      '/media/x%5C..%5Ca.txt',
      '/media/a%00.txt',
      '/media/a%0A.txt',
      '/media/a%zz.txt',
      '/media/a%2.txt',
    ];

    for (const path of HOSTILE) {
      it(`answers 403 for ${path}, with any signature`, async () => {
        const query = queryOf(sign('/media/a.txt'));
        const res = await fetchRawPath(guarded, path + query);
        expect([res.status, res.body.toString()]).to.deep.equal([403, 'Malformed signed link']);
        // Behind the route too: never the file, whatever the router makes of the path.
        expect((await fetchRawPath(server, path + query)).status).to.be.oneOf([403, 404]);
      });

      it(`refuses to sign ${path}`, () => {
        // As a URL, `//media/a.txt` is the path `/a.txt` on the host `media`: signed as such.
        const url = path.startsWith('//') ? `http://host${path}` : path;
        expect(() => sign(url)).to.throw(TypeError, /path is missing or refused/);
      });
    }

    it('keeps a trailing slash as part of the signed path', async () => {
      const link = sign('/media/dir/');
      expect(pathOf(link)).to.equal('/media/dir/');
      const res = await fetchLink(server, `/media/dir${queryOf(link)}`);
      expect(res.status).to.equal(403);
    });
  });
});
