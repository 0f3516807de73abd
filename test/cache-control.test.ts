import { expect } from 'chai';
import { cacheControl } from '../src/cache-control.ts';
import {
  httpDownload,
  objectDownload,
  pathDownload,
  storageDownload,
  virtualDownload,
} from '../src/index.ts';
import { MemoryStorage } from '../storages/memory.ts';
import { request } from './support/http.ts';
import { serve } from './support/koa.ts';
import { downloadview } from '../src/index.ts';

describe('route helpers: maxAge, immutable and public (Cache-Control)', () => {
  const values: [Parameters<typeof cacheControl>[1], string | undefined][] = [
    [{}, undefined],
    [{ maxAge: 0 }, 'private, max-age=0'],
    [{ maxAge: 1999 }, 'private, max-age=1'],
    [{ maxAge: 86_400_000, immutable: true }, 'private, max-age=86400, immutable'],
    [{ maxAge: 60_000, public: true }, 'public, max-age=60'],
    [{ maxAge: 60_000, immutable: false, public: false }, 'private, max-age=60'],
  ];
  for (const [options, expected] of values) {
    it(`${JSON.stringify(options)} → ${String(expected)}`, () => {
      expect(cacheControl('storageDownload', options)).to.equal(expected);
    });
  }

  const refused: [string, Record<string, unknown>, RegExp][] = [
    ['a negative maxAge', { maxAge: -1 }, /"maxAge" must be a non-negative number/],
    ['maxAge as a string', { maxAge: '1d' }, /"maxAge" must be a non-negative number/],
    ['an infinite maxAge', { maxAge: Infinity }, /"maxAge" must be a non-negative number/],
    ['immutable without maxAge', { immutable: true }, /need "maxAge"/],
    ['immutable as a string', { maxAge: 1, immutable: 'yes' }, /"immutable" must be true or false/],
    ['public as a number', { maxAge: 1, public: 1 }, /"public" must be true or false/],
  ];
  const storage = new MemoryStorage({ files: { 'a.txt': 'a' } });
  const helpers: [string, (extra: Record<string, unknown>) => unknown][] = [
    ['storageDownload', (extra) => storageDownload({ storage, ...extra })],
    ['pathDownload', (extra) => pathDownload({ root: '/srv', ...extra })],
    ['virtualDownload', (extra) => virtualDownload({ name: 'a.txt', content: 'a', ...extra })],
    ['httpDownload', (extra) => httpDownload({ url: 'http://127.0.0.1/a', ...extra })],
    [
      'objectDownload',
      (extra) => objectDownload({ load: () => ({ f: 'a.txt' }), field: 'f', ...extra }),
    ],
  ];
  for (const [helper, make] of helpers) {
    for (const [what, extra, message] of refused) {
      it(`${helper} refuses ${what} at set-up`, () => {
        expect(() => make(extra)).to.throw(TypeError, message);
      });
    }
  }

  it('sets the header on the download, and leaves an app-set Cache-Control alone without maxAge', async () => {
    const server = await serve(downloadview(), async (ctx, next) => {
      if (ctx.path === '/own') {
        ctx.set('Cache-Control', 'no-store');
        return storageDownload({ storage, path: 'a.txt' })(ctx);
      }
      if (ctx.path === '/object') {
        return objectDownload({
          load: () => ({ f: 'a.txt' }),
          storage,
          field: 'f',
          maxAge: 5000,
          public: true,
        })(ctx);
      }
      await next();
      return virtualDownload({ name: 'v.txt', content: 'v', maxAge: 10_000 })(ctx);
    });
    try {
      const own = await request(server.url + '/own');
      const object = await request(server.url + '/object');
      const virtual = await request(server.url + '/virtual');
      expect([own.headers['cache-control'], object.headers['cache-control']]).to.deep.equal([
        'no-store',
        'public, max-age=5',
      ]);
      expect([virtual.status, virtual.headers['cache-control']]).to.deep.equal([
        200,
        'private, max-age=10',
      ]);
    } finally {
      await server.close();
    }
  });
});
