import Router from '@koa/router';
import { expect } from 'chai';
import type { Context, Next } from 'koa';
import { realpath } from 'node:fs/promises';
import {
  caddyAccelRedirect,
  downloadview,
  lighttpdSendfile,
  storageDownload,
  virtualDownload,
  xAccelRedirect,
  xSendfile,
  type RouteHandler,
  type RouteRule,
} from '../src/index.ts';
import { FileSystemStorage } from '../storages/filesystem.ts';
import { MemoryStorage } from '../storages/memory.ts';
import { tempTree } from './support/fixtures.ts';
import { request, type RawResponse } from './support/http.ts';
import { serve, type TestServer } from './support/koa.ts';

const CONTENT: Record<string, string> = {
  'a b.txt': 'alpha bytes',
  'q?.txt': 'question bytes',
  'sub/b.txt': 'bravo bytes',
};
const OFFLOAD_HEADERS = ['x-accel-redirect', 'x-sendfile', 'x-offload-url'];

function offloadHeaders(res: RawResponse): Record<string, string> {
  return Object.fromEntries(
    OFFLOAD_HEADERS.filter((h) => res.headers[h] !== undefined).map((h) => [
      h,
      String(res.headers[h]),
    ]),
  );
}

function accelHeaders(res: RawResponse): Record<string, string> {
  return Object.fromEntries(
    Object.entries(res.headers)
      .filter(([name]) => name.startsWith('x-accel-'))
      .map(([name, value]) => [name, String(value)]),
  );
}

type Wrapper = (handler: RouteHandler, options: RouteRule) => RouteHandler;

const WRAPPERS: [string, Wrapper, (dir: string) => RouteRule][] = [
  ['xAccelRedirect', xAccelRedirect, (dir) => ({ sourceDir: dir, destinationUrl: '/protected/' })],
  ['xSendfile', xSendfile, (dir) => ({ sourceDir: dir, destinationDir: '/srv/media' })],
  [
    'lighttpdSendfile',
    lighttpdSendfile,
    (dir) => ({ sourceDir: dir, destinationDir: '/srv/media' }),
  ],
  [
    'caddyAccelRedirect',
    caddyAccelRedirect,
    (dir) => ({ sourceDir: dir, destinationUrl: '/protected/' }),
  ],
];

describe('per-route backends (xAccelRedirect, xSendfile, lighttpdSendfile, caddyAccelRedirect)', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let storage: FileSystemStorage;
  let router: Router;
  let streamingApp: TestServer;
  let nginxApp: TestServer;
  let bareApp: TestServer;

  before(async () => {
    const tree = await tempTree(CONTENT);
    cleanup = tree.cleanup;
    dir = await realpath(tree.dir);
    storage = new FileSystemStorage({ location: dir, baseUrl: '/media/' });
    const memory = new MemoryStorage({ files: { 'm.txt': 'memory bytes' } });
    const files = storageDownload({ storage });

    router = new Router();
    router.get(
      '/nginx/*path',
      xAccelRedirect(files, {
        sourceDir: dir,
        destinationUrl: '/protected/',
        buffering: false,
        charset: 'utf-8',
        expires: 'off',
        limitRate: 1024,
      }),
    );
    router.get(
      '/nginx-url/*path',
      xAccelRedirect(files, { sourceUrl: '/media/', destinationUrl: '/by-url' }),
    );
    router.get('/apache/*path', xSendfile(files, { sourceDir: dir, destinationDir: '/srv/media' }));
    router.get(
      '/lighttpd/*path',
      lighttpdSendfile(files, { sourceDir: dir, destinationDir: '/srv/media' }),
    );
    router.get(
      '/caddy/*path',
      caddyAccelRedirect(files, { sourceDir: dir, destinationUrl: '/protected/' }),
    );
    router.get('/plain/*path', files);
    router.get(
      '/nginx-memory/*path',
      xAccelRedirect(storageDownload({ storage: memory }), {
        sourceDir: dir,
        destinationUrl: '/protected/',
      }),
    );
    router.get(
      '/nginx-virtual',
      xAccelRedirect(virtualDownload({ name: 'v.txt', content: 'virtual bytes' }), {
        sourceUrl: '/',
        destinationUrl: '/protected/',
      }),
    );
    router.get(
      '/nginx-chain/*path',
      xAccelRedirect(
        async (ctx: Context, next: Next) => {
          ctx.set('X-Before', 'handler ran');
          await next();
        },
        { sourceDir: dir, destinationUrl: '/chained/' },
      ),
      files,
    );
    router.get(
      '/nginx-denied/*path',
      xAccelRedirect((ctx: Context) => ctx.throw(403, 'not yours'), {
        sourceDir: dir,
        destinationUrl: '/protected/',
      }),
    );

    streamingApp = await serve(downloadview(), router.routes());
    nginxApp = await serve(
      downloadview({ backend: 'nginx', rules: [{ sourceDir: dir, destinationUrl: '/app-wide/' }] }),
      router.routes(),
    );
    bareApp = await serve(router.routes());
  });

  after(async () => {
    await streamingApp?.close();
    await nginxApp?.close();
    await bareApp?.close();
    await cleanup?.();
  });

  const get = (server: TestServer, path: string, method = 'GET') =>
    request(server.url + path, { method });

  describe('under an app-wide streaming downloadview()', () => {
    const offloaded: [string, string, Record<string, string>][] = [
      ['xAccelRedirect', '/nginx/a%20b.txt', { 'x-accel-redirect': '/protected/a%20b.txt' }],
      [
        'xAccelRedirect (sourceUrl rule)',
        '/nginx-url/sub/b.txt',
        { 'x-accel-redirect': '/by-url/sub/b.txt' },
      ],
      ['xSendfile', '/apache/a%20b.txt', { 'x-sendfile': '/srv/media/a b.txt' }],
      ['lighttpdSendfile', '/lighttpd/a%20b.txt', { 'x-sendfile': '/srv/media/a%20b.txt' }],
      ['caddyAccelRedirect', '/caddy/sub/b.txt', { 'x-accel-redirect': '/protected/sub/b.txt' }],
    ];
    for (const [wrapper, path, headers] of offloaded) {
      it(`${wrapper} offloads GET ${path}: 200, empty body, ${JSON.stringify(headers)}`, async () => {
        const res = await get(streamingApp, path);
        expect(res.status).to.equal(200);
        expect(res.body.length).to.equal(0);
        expect(offloadHeaders(res)).to.deep.equal(headers);
        expect(res.headers['content-type']).to.equal('text/plain; charset=utf-8');
      });
    }

    it('another route of the same app streams the same file (real bytes, no offload header)', async () => {
      const res = await get(streamingApp, '/plain/a%20b.txt');
      expect([res.status, res.body.toString()]).to.deep.equal([200, CONTENT['a b.txt']]);
      expect(offloadHeaders(res)).to.deep.equal({});
      expect(res.headers['content-length']).to.equal(String(CONTENT['a b.txt']!.length));
    });

    it('xAccelRedirect passes buffering, charset, expires and limitRate to nginx', async () => {
      const res = await get(streamingApp, '/nginx/sub/b.txt');
      expect(accelHeaders(res)).to.deep.equal({
        'x-accel-redirect': '/protected/sub/b.txt',
        'x-accel-buffering': 'no',
        'x-accel-charset': 'utf-8',
        'x-accel-expires': 'off',
        'x-accel-limit-rate': '1024',
      });
    });

    it('xAccelRedirect with a sourceUrl rule sends no X-Accel-* option it was not given', async () => {
      const res = await get(streamingApp, '/nginx-url/a%20b.txt');
      expect(accelHeaders(res)).to.deep.equal({ 'x-accel-redirect': '/by-url/a%20b.txt' });
    });

    it('caddyAccelRedirect streams a name holding "?" (Caddy cannot serve it)', async () => {
      const res = await get(streamingApp, '/caddy/q%3F.txt');
      expect([res.status, res.body.toString()]).to.deep.equal([200, CONTENT['q?.txt']]);
      expect(offloadHeaders(res)).to.deep.equal({});
    });

    it('a wrapped route streams a file its rule does not match (a MemoryStorage file)', async () => {
      const res = await get(streamingApp, '/nginx-memory/m.txt');
      expect([res.status, res.body.toString()]).to.deep.equal([200, 'memory bytes']);
      expect(offloadHeaders(res)).to.deep.equal({});
    });

    it("a file a wrapped route declines is streamed with the app's options (maxRanges 1: 2 ranges → 200)", async () => {
      const app = await serve(downloadview({ maxRanges: 1 }), router.routes());
      try {
        const res = await request(app.url + '/nginx-memory/m.txt', {
          headers: { Range: 'bytes=0-0,2-2' },
        });
        expect([res.status, res.body.toString()]).to.deep.equal([200, 'memory bytes']);
        // Streamed by the app's middleware itself: no second downloadview() ran around the route.
        const ranged = await get(streamingApp, '/nginx-memory/m.txt');
        expect(ranged.status).to.equal(200);
        const two = await request(streamingApp.url + '/nginx-memory/m.txt', {
          headers: { Range: 'bytes=0-0,2-2' },
        });
        expect(two.status).to.equal(206);
      } finally {
        await app.close();
      }
    });

    it("a file a wrapped route declines is streamed with the app's etag mode ('content': a hash)", async () => {
      const app = await serve(downloadview({ etag: 'content' }), router.routes());
      try {
        // Caddy cannot serve a name holding "?": caddyAccelRedirect declines it.
        const res = await request(app.url + '/caddy/q%3F.txt');
        expect([res.status, res.body.toString()]).to.deep.equal([200, CONTENT['q?.txt']]);
        expect(res.headers['etag']).to.not.match(/^"[0-9a-f]+-[0-9a-f]+"$/);
        const byDefault = await get(streamingApp, '/caddy/q%3F.txt');
        expect(byDefault.headers['etag']).to.match(/^"[0-9a-f]+-[0-9a-f]+"$/);
        expect(byDefault.headers['etag']).to.not.equal(res.headers['etag']);
      } finally {
        await app.close();
      }
    });

    it('a wrapped route streams a VirtualFile even under a sourceUrl rule for /', async () => {
      const res = await get(streamingApp, '/nginx-virtual');
      expect([res.status, res.body.toString()]).to.deep.equal([200, 'virtual bytes']);
      expect(offloadHeaders(res)).to.deep.equal({});
    });

    it("the wrapped handler gets the router's next: a later route middleware's file is offloaded", async () => {
      const res = await get(streamingApp, '/nginx-chain/a%20b.txt');
      expect(res.headers['x-before']).to.equal('handler ran');
      expect(offloadHeaders(res)).to.deep.equal({ 'x-accel-redirect': '/chained/a%20b.txt' });
    });

    it('a wrapped handler that throws 403 answers 403 with no offload header', async () => {
      const res = await get(streamingApp, '/nginx-denied/a%20b.txt');
      expect([res.status, res.body.toString()]).to.deep.equal([403, 'not yours']);
      expect(offloadHeaders(res)).to.deep.equal({});
    });

    it('a wrapped route answers 404 for a missing file, with no offload header', async () => {
      const res = await get(streamingApp, '/apache/missing.txt');
      expect(res.status).to.equal(404);
      expect(offloadHeaders(res)).to.deep.equal({});
    });

    it('a wrapped route answers HEAD with 200, the offload header and no body', async () => {
      const res = await get(streamingApp, '/lighttpd/sub/b.txt', 'HEAD');
      expect(res.status).to.equal(200);
      expect(res.body.length).to.equal(0);
      expect(offloadHeaders(res)).to.deep.equal({ 'x-sendfile': '/srv/media/sub/b.txt' });
    });
  });

  describe('under an app-wide nginx downloadview()', () => {
    it("the route's own backend wins: xSendfile sends X-Sendfile, not the app's X-Accel-Redirect", async () => {
      const res = await get(nginxApp, '/apache/a%20b.txt');
      expect(offloadHeaders(res)).to.deep.equal({ 'x-sendfile': '/srv/media/a b.txt' });
    });

    it("an unwrapped route gets the app-wide rule's X-Accel-Redirect", async () => {
      const res = await get(nginxApp, '/plain/a%20b.txt');
      expect(offloadHeaders(res)).to.deep.equal({ 'x-accel-redirect': '/app-wide/a%20b.txt' });
    });

    it('a file the wrapper streams is not offloaded by the app-wide backend afterwards', async () => {
      const res = await get(nginxApp, '/caddy/q%3F.txt');
      expect([res.status, res.body.toString()]).to.deep.equal([200, CONTENT['q?.txt']]);
      expect(offloadHeaders(res)).to.deep.equal({});
    });
  });

  describe('without any app-wide downloadview()', () => {
    it('a wrapped route offloads on its own', async () => {
      const res = await get(bareApp, '/nginx/a%20b.txt');
      expect(res.status).to.equal(200);
      expect(offloadHeaders(res)).to.deep.equal({ 'x-accel-redirect': '/protected/a%20b.txt' });
    });

    it('a wrapped route streams what its rule does not match', async () => {
      const res = await get(bareApp, '/nginx-memory/m.txt');
      expect([res.status, res.body.toString()]).to.deep.equal([200, 'memory bytes']);
    });
  });

  describe('set-up', () => {
    for (const [name, wrap, rule] of WRAPPERS) {
      it(`${name}(...) is a function named "${name}"`, () => {
        const wrapped = wrap(async () => undefined, rule('/srv/media'));
        expect(wrapped).to.be.a('function');
        expect(wrapped.name).to.equal(name);
      });

      for (const [what, handler] of [
        ['undefined', undefined],
        ['a string', 'storageDownload'],
        ['an object', { storage: {} }],
      ] as const) {
        it(`${name} throws at set-up for a handler that is ${what}`, () => {
          expect(() => wrap(handler as never, rule('/srv/media'))).to.throw(
            TypeError,
            new RegExp(`^${name}: handler must be a function$`),
          );
        });
      }

      it(`${name} throws at set-up for a rule with neither sourceUrl nor sourceDir`, () => {
        const destinationOnly = { ...rule('/srv/media'), sourceDir: undefined };
        expect(() => wrap(async () => undefined, destinationOnly)).to.throw(
          TypeError,
          /^downloadview rule #1 needs exactly one of "sourceUrl" or "sourceDir"$/,
        );
      });
    }

    const missing: [string, () => unknown, RegExp][] = [
      [
        'xAccelRedirect without destinationUrl',
        () => xAccelRedirect(async () => undefined, { sourceDir: '/srv', destinationDir: '/srv' }),
        /^downloadview rule #1: backend "nginx" needs "destinationUrl"$/,
      ],
      [
        'caddyAccelRedirect without destinationUrl',
        () => caddyAccelRedirect(async () => undefined, { sourceDir: '/srv' }),
        /^downloadview rule #1: backend "caddy" needs "destinationUrl"$/,
      ],
      [
        'xSendfile without destinationDir',
        () => xSendfile(async () => undefined, { sourceDir: '/srv', destinationUrl: '/p/' }),
        /^downloadview rule #1: backend "apache" needs "destinationDir"$/,
      ],
      [
        'lighttpdSendfile without destinationDir',
        () => lighttpdSendfile(async () => undefined, { sourceUrl: '/m/' }),
        /^downloadview rule #1: backend "lighttpd" needs "destinationDir"$/,
      ],
      [
        'xAccelRedirect with expires: -1',
        () =>
          xAccelRedirect(async () => undefined, {
            sourceDir: '/srv',
            destinationUrl: '/p/',
            expires: -1,
          }),
        /^nginx option "expires" must be a non-negative integer or 'off', got -1$/,
      ],
      [
        'xAccelRedirect with buffering: "no"',
        () =>
          xAccelRedirect(async () => undefined, {
            sourceDir: '/srv',
            destinationUrl: '/p/',
            buffering: 'no' as never,
          }),
        /^nginx option "buffering" must be true or false, got "no"$/,
      ],
    ];
    for (const [what, make, message] of missing) {
      it(`throws at set-up for ${what}`, () => {
        expect(make).to.throw(TypeError, message);
      });
    }
  });
});
