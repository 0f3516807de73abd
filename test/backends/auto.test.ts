import { expect } from 'chai';
import type { Context, Middleware } from 'koa';
import { IncomingMessage, ServerResponse, type Server } from 'node:http';
import { realpath } from 'node:fs/promises';
import { Socket, type AddressInfo } from 'node:net';
import {
  auto,
  downloadview,
  StorageFile,
  VirtualFile,
  type DownloadFile,
  type DownloadViewOptions,
} from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { tempTree } from '../support/fixtures.ts';
import { request, type RawResponse } from '../support/http.ts';
import { createApp, serve, type TestServer } from '../support/koa.ts';
import { skipOrFail } from '../support/skip.ts';

/** Validators are derived by downloadview(); backends called directly get none. */
const NO_VALIDATORS = { etag: undefined, lastModified: undefined };

const CONTENT: Record<string, string> = {
  'a b.txt': 'alpha bytes',
  'sub/b.txt': 'bravo bytes',
  'отчёт.txt': 'report bytes',
};
const OFFLOAD_HEADERS = ['x-accel-redirect', 'x-sendfile', 'x-offload-url'];

function offloadHeaders(res: RawResponse): Record<string, string> {
  return Object.fromEntries(
    OFFLOAD_HEADERS.filter((h) => res.headers[h] !== undefined).map((h) => [
      h,
      Buffer.from(String(res.headers[h]), 'latin1').toString('utf8'),
    ]),
  );
}

/** A Koa context whose connection comes from `remoteAddress`, for calling deliver() directly. */
function contextFrom(remoteAddress: string, headers: Record<string, string>): Context {
  const socket = new Socket();
  Object.defineProperty(socket, 'remoteAddress', { value: remoteAddress });
  const req = new IncomingMessage(socket);
  req.method = 'GET';
  req.url = '/';
  req.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return createApp().createContext(req, new ServerResponse(req)) as unknown as Context;
}

/** A Koa app of the major under test listening on `host` (e.g. '::', dual stack). */
async function serveOn(
  host: string,
  ...middleware: Middleware[]
): Promise<{ port: number; close: () => Promise<void> }> {
  const app = createApp();
  for (const m of middleware) app.use(m);
  const server: Server = app.listen(0, host);
  await new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  return {
    port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("auto backend (configured by the proxy's request headers)", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let storage: FileSystemStorage;
  let trusted: TestServer;
  let untrusted: TestServer;
  /** `backend: 'auto'`, without `sendfile`: X-Sendfile requests are streamed. */
  let accelOnly: TestServer;
  let lighttpdSendfile: TestServer;
  /** The peer address each request arrived from, as the route saw it. */
  const peers: string[] = [];

  const route = (ctx: Context) => {
    peers.push(ctx.req.socket.remoteAddress ?? '');
    const name = String(ctx.query['name'] ?? 'a b.txt');
    const kind = ctx.query['kind'];
    ctx.body =
      kind === 'virtual'
        ? new VirtualFile('virtual bytes', { name: 'v.txt' })
        : kind === 'memory'
          ? new StorageFile(new MemoryStorage({ files: { 'm.txt': 'memory bytes' } }), 'm.txt')
          : new StorageFile(storage, name);
  };

  before(async () => {
    const tree = await tempTree(CONTENT);
    cleanup = tree.cleanup;
    dir = await realpath(tree.dir);
    storage = new FileSystemStorage({ location: dir });
    trusted = await serve(
      downloadview({ backend: auto({ trustedProxies: ['127.0.0.1'], sendfile: 'apache' }) }),
      route,
    );
    accelOnly = await serve(
      downloadview({ backend: 'auto', trustedProxies: ['127.0.0.1'] }),
      route,
    );
    lighttpdSendfile = await serve(
      downloadview({ backend: auto({ trustedProxies: ['127.0.0.1'], sendfile: 'lighttpd' }) }),
      route,
    );
    untrusted = await serve(
      downloadview({ backend: auto({ trustedProxies: ['10.9.9.9'] }) }),
      route,
    );
  });

  after(async () => {
    await trusted?.close();
    await untrusted?.close();
    await accelOnly?.close();
    await lighttpdSendfile?.close();
    await cleanup?.();
  });

  const get = (
    server: TestServer,
    query: string,
    headers: Record<string, string> = {},
    http1 = false,
  ) => request(`${server.url}/?${query}`, { headers, http1 });
  const nameQuery = (name: string) => `name=${encodeURIComponent(name)}`;

  describe('from a trusted peer', () => {
    it('X-Sendfile-Type: X-Accel-Redirect + X-Accel-Mapping dir/=/protected/ sends X-Accel-Redirect, percent-encoded', async () => {
      const res = await get(trusted, nameQuery('a b.txt'), {
        'X-Sendfile-Type': 'X-Accel-Redirect',
        'X-Accel-Mapping': `${dir}/=/protected/`,
      });
      expect(res.status).to.equal(200);
      expect(res.body.length).to.equal(0);
      expect(offloadHeaders(res)).to.deep.equal({ 'x-accel-redirect': '/protected/a%20b.txt' });
      expect(res.headers['content-disposition']).to.equal('attachment; filename="a b.txt"');
      expect(res.headers['content-type']).to.equal('text/plain; charset=utf-8');
    });

    it('a mapping written without trailing slashes (dir=/protected) works the same', async () => {
      const res = await get(trusted, nameQuery('sub/b.txt'), {
        'X-Sendfile-Type': 'X-Accel-Redirect',
        'X-Accel-Mapping': `${dir}=/protected`,
      });
      expect(offloadHeaders(res)).to.deep.equal({ 'x-accel-redirect': '/protected/sub/b.txt' });
    });

    it('the type is read case-insensitively and trimmed (" x-accel-redirect ")', async () => {
      // HTTP/1.1 even under TRANSPORT=h2: padded values exist only there (the proxies speak it
      // to the app); HTTP/2 forbids leading and trailing whitespace in a field value.
      const padded = {
        'X-Sendfile-Type': ' x-accel-redirect ',
        'X-Accel-Mapping': ` ${dir}/ = /protected/ `,
      };
      const res = await get(trusted, nameQuery('a b.txt'), padded, true);
      expect(offloadHeaders(res)).to.deep.equal({ 'x-accel-redirect': '/protected/a%20b.txt' });
    });

    it('X-Sendfile-Type: X-Sendfile sends the absolute path as raw UTF-8, with ETag and Last-Modified', async () => {
      const res = await get(trusted, nameQuery('отчёт.txt'), { 'X-Sendfile-Type': 'X-Sendfile' });
      const streamed = await get(untrusted, nameQuery('отчёт.txt'));
      expect(res.status).to.equal(200);
      expect(res.body.length).to.equal(0);
      expect(Buffer.from(String(res.headers['x-sendfile']), 'latin1').toString('hex')).to.equal(
        Buffer.from(`${dir}/отчёт.txt`, 'utf8').toString('hex'),
      );
      expect(res.headers['x-accel-redirect']).to.equal(undefined);
      expect(res.headers['etag']).to.match(/^"[0-9a-f]+-c"$/);
      expect(res.headers['etag']).to.equal(streamed.headers['etag']);
      expect(res.headers['last-modified']).to.equal(streamed.headers['last-modified']);
    });

    it('X-Sendfile-Type: X-Sendfile without option "sendfile" is streamed: the encoding would be a guess', async () => {
      const res = await get(accelOnly, nameQuery('a b.txt'), { 'X-Sendfile-Type': 'X-Sendfile' });
      expect([res.status, res.body.toString(), offloadHeaders(res)]).to.deep.equal([
        200,
        CONTENT['a b.txt'],
        {},
      ]);
      const accel = await get(accelOnly, nameQuery('a b.txt'), {
        'X-Sendfile-Type': 'X-Accel-Redirect',
        'X-Accel-Mapping': `${dir}/=/protected/`,
      });
      expect(offloadHeaders(accel)).to.deep.equal({ 'x-accel-redirect': '/protected/a%20b.txt' });
    });

    it("sendfile: 'lighttpd' percent-encodes the X-Sendfile path, as lighttpd decodes it", async () => {
      const res = await get(lighttpdSendfile, nameQuery('a b.txt'), {
        'X-Sendfile-Type': 'X-Sendfile',
      });
      expect(res.status).to.equal(200);
      expect(res.headers['x-sendfile']).to.equal(
        `${dir.split('/').map(encodeURIComponent).join('/')}/a%20b.txt`,
      );
    });

    it('a missing file answers 404 with no offload header, as when streaming', async () => {
      const headers = { 'X-Sendfile-Type': 'X-Sendfile' };
      const res = await get(trusted, nameQuery('missing.txt'), headers);
      const streamed = await get(untrusted, nameQuery('missing.txt'), headers);
      expect([res.status, offloadHeaders(res)]).to.deep.equal([404, {}]);
      expect(streamed.status).to.equal(404);
    });

    it('with several mapping pairs the first that holds the file wins, in header order', async () => {
      const mapping = `/elsewhere/=/never/, ${dir}/sub/=/sub-uri/, ${dir}/=/protected/`;
      const headers = { 'X-Sendfile-Type': 'X-Accel-Redirect', 'X-Accel-Mapping': mapping };
      const sub = await get(trusted, nameQuery('sub/b.txt'), headers);
      const top = await get(trusted, nameQuery('a b.txt'), headers);
      expect(offloadHeaders(sub)).to.deep.equal({ 'x-accel-redirect': '/sub-uri/b.txt' });
      expect(offloadHeaders(top)).to.deep.equal({ 'x-accel-redirect': '/protected/a%20b.txt' });
      const reversed = await get(trusted, nameQuery('sub/b.txt'), {
        ...headers,
        'X-Accel-Mapping': `${dir}/=/protected/,${dir}/sub/=/sub-uri/`,
      });
      expect(offloadHeaders(reversed)).to.deep.equal({
        'x-accel-redirect': '/protected/sub/b.txt',
      });
    });

    it('a malformed pair is skipped and a well-formed one after it still applies', async () => {
      const res = await get(trusted, nameQuery('a b.txt'), {
        'X-Sendfile-Type': 'X-Accel-Redirect',
        'X-Accel-Mapping': `garbage, ${dir}/=protected/, ${dir}/=/protected/`,
      });
      expect(offloadHeaders(res)).to.deep.equal({ 'x-accel-redirect': '/protected/a%20b.txt' });
    });

    const streamed: [string, string, () => Record<string, string>, string][] = [
      ['no X-Sendfile-Type at all', nameQuery('a b.txt'), () => ({}), CONTENT['a b.txt']!],
      [
        'an unknown type (X-LIGHTTPD-send-file)',
        nameQuery('a b.txt'),
        () => ({ 'X-Sendfile-Type': 'X-LIGHTTPD-send-file', 'X-Accel-Mapping': `${dir}/=/p/` }),
        CONTENT['a b.txt']!,
      ],
      [
        'X-Accel-Redirect without X-Accel-Mapping',
        nameQuery('a b.txt'),
        () => ({ 'X-Sendfile-Type': 'X-Accel-Redirect' }),
        CONTENT['a b.txt']!,
      ],
      [
        'a mapping that holds no pair matching the file',
        nameQuery('a b.txt'),
        () => ({
          'X-Sendfile-Type': 'X-Accel-Redirect',
          'X-Accel-Mapping': `/elsewhere/=/p/, ${dir}/sub/=/sub/`,
        }),
        CONTENT['a b.txt']!,
      ],
      [
        'a mapping dir that is a string prefix of the file, not a path segment',
        nameQuery('a b.txt'),
        () => ({ 'X-Sendfile-Type': 'X-Accel-Redirect', 'X-Accel-Mapping': `${dir}/a=/p/` }),
        CONTENT['a b.txt']!,
      ],
      [
        'a mapping dir sharing the directory name as a prefix (dir minus its last letter)',
        nameQuery('a b.txt'),
        () => ({
          'X-Sendfile-Type': 'X-Accel-Redirect',
          'X-Accel-Mapping': `${dir.slice(0, -1)}=/p/`,
        }),
        CONTENT['a b.txt']!,
      ],
      [
        'a malformed mapping without "="',
        nameQuery('a b.txt'),
        () => ({ 'X-Sendfile-Type': 'X-Accel-Redirect', 'X-Accel-Mapping': `${dir}/` }),
        CONTENT['a b.txt']!,
      ],
      [
        'a malformed mapping with a relative URI',
        nameQuery('a b.txt'),
        () => ({ 'X-Sendfile-Type': 'X-Accel-Redirect', 'X-Accel-Mapping': `${dir}/=protected/` }),
        CONTENT['a b.txt']!,
      ],
      [
        'a malformed mapping with two "="',
        nameQuery('a b.txt'),
        () => ({ 'X-Sendfile-Type': 'X-Accel-Redirect', 'X-Accel-Mapping': `${dir}/=/p/=/q/` }),
        CONTENT['a b.txt']!,
      ],
      [
        'a malformed mapping with a relative dir',
        nameQuery('a b.txt'),
        () => ({ 'X-Sendfile-Type': 'X-Accel-Redirect', 'X-Accel-Mapping': 'tmp/=/p/' }),
        CONTENT['a b.txt']!,
      ],
      [
        'a mapping of nothing but separators (",, =")',
        nameQuery('a b.txt'),
        () => ({ 'X-Sendfile-Type': 'X-Accel-Redirect', 'X-Accel-Mapping': ',, =' }),
        CONTENT['a b.txt']!,
      ],
      [
        'a VirtualFile under X-Sendfile',
        'kind=virtual',
        () => ({ 'X-Sendfile-Type': 'X-Sendfile' }),
        'virtual bytes',
      ],
      [
        'a VirtualFile under X-Accel-Redirect with a mapping of /',
        'kind=virtual',
        () => ({ 'X-Sendfile-Type': 'X-Accel-Redirect', 'X-Accel-Mapping': '/=/all/' }),
        'virtual bytes',
      ],
      [
        'a MemoryStorage file (no local path) under X-Sendfile',
        'kind=memory',
        () => ({ 'X-Sendfile-Type': 'X-Sendfile' }),
        'memory bytes',
      ],
    ];
    for (const [what, query, headers, bytes] of streamed) {
      it(`streams ${what}: 200, real bytes, no offload header`, async () => {
        const res = await get(trusted, query, headers());
        expect([res.status, res.body.toString()]).to.deep.equal([200, bytes]);
        expect(offloadHeaders(res)).to.deep.equal({});
      });
    }
  });

  describe('from an untrusted peer', () => {
    const attempts: [string, Record<string, string>, boolean][] = [
      ['X-Sendfile-Type: X-Sendfile', { 'X-Sendfile-Type': 'X-Sendfile' }, false],
      [
        'X-Accel-Redirect with a mapping of /',
        { 'X-Sendfile-Type': 'X-Accel-Redirect', 'X-Accel-Mapping': '/=/all/' },
        false,
      ],
      [
        'a spoofed X-Forwarded-For: 10.9.9.9 (the trusted address)',
        { 'X-Sendfile-Type': 'X-Sendfile', 'X-Forwarded-For': '10.9.9.9' },
        false,
      ],
      [
        'a spoofed X-Forwarded-For and X-Real-IP with app.proxy = true',
        { 'X-Sendfile-Type': 'X-Sendfile', 'X-Forwarded-For': '10.9.9.9', 'X-Real-IP': '10.9.9.9' },
        true,
      ],
    ];
    for (const [what, headers, proxy] of attempts) {
      it(`ignores ${what} and streams the file`, async () => {
        untrusted.app.proxy = proxy;
        try {
          const res = await get(untrusted, nameQuery('sub/b.txt'), headers);
          expect([res.status, res.body.toString()]).to.deep.equal([200, CONTENT['sub/b.txt']]);
          expect(offloadHeaders(res)).to.deep.equal({});
        } finally {
          untrusted.app.proxy = false;
        }
      });
    }
  });

  describe('peer addresses', () => {
    let file: DownloadFile;
    before(() => {
      file = new StorageFile(storage, 'a b.txt');
    });

    const cases: [string[], string, boolean][] = [
      [['127.0.0.1'], '127.0.0.1', true],
      [['127.0.0.1'], '::ffff:127.0.0.1', true],
      [['::ffff:127.0.0.1'], '::ffff:127.0.0.1', true],
      [['::ffff:127.0.0.1'], '127.0.0.1', true],
      [['10.0.0.1'], '::FFFF:10.0.0.1', true],
      [['::1'], '::1', true],
      [['0:0:0:0:0:0:0:1'], '::1', true],
      [['fe80::1'], 'FE80::1', true],
      [['127.0.0.1'], '127.0.0.2', false],
      [['127.0.0.1'], '::ffff:127.0.0.2', false],
      [['127.0.0.1'], '::1', false],
      [['::1'], '127.0.0.1', false],
      [['127.0.0.1'], '', false],
      [['127.0.0.1'], 'localhost', false],
    ];
    for (const [trustedProxies, peer, offloads] of cases) {
      it(`trustedProxies ${JSON.stringify(trustedProxies)} and peer ${JSON.stringify(peer)}: ${offloads ? 'offloads' : 'declines'}`, async () => {
        const ctx = contextFrom(peer, { 'X-Sendfile-Type': 'X-Sendfile' });
        const backend = auto({ trustedProxies, sendfile: 'apache' });
        const offload = { stat: await file.stat(), validators: NO_VALIDATORS };
        expect(await backend.deliver(ctx, file, offload)).to.equal(offloads);
        expect(ctx.res.getHeader('X-Sendfile')).to.equal(offloads ? `${dir}/a b.txt` : undefined);
      });
    }

    describe('over a dual-stack socket', () => {
      for (const trustedProxies of [['127.0.0.1'], ['::ffff:127.0.0.1']]) {
        it(`IPv4 client seen as ::ffff:127.0.0.1, trustedProxies ${JSON.stringify(trustedProxies)}: offloaded`, async function () {
          let dual: Awaited<ReturnType<typeof serveOn>>;
          try {
            const backend = auto({ trustedProxies, sendfile: 'apache' });
            dual = await serveOn('::', downloadview({ backend }), route);
          } catch {
            return skipOrFail(this, 'this host cannot listen on IPv6 (::)');
          }
          try {
            peers.length = 0;
            const res = await request(`http://127.0.0.1:${dual.port}/?${nameQuery('a b.txt')}`, {
              headers: { 'X-Sendfile-Type': 'X-Sendfile' },
            });
            expect(peers).to.deep.equal(['::ffff:127.0.0.1']);
            expect(res.status).to.equal(200);
            expect(offloadHeaders(res)).to.deep.equal({ 'x-sendfile': `${dir}/a b.txt` });
          } finally {
            await dual.close();
          }
        });
      }

      it('an IPv6 client (::1) is trusted by trustedProxies ["::1"] and not by ["127.0.0.1"]', async function () {
        let v6: Awaited<ReturnType<typeof serveOn>>[];
        try {
          v6 = [
            await serveOn(
              '::1',
              downloadview({ backend: auto({ trustedProxies: ['::1'], sendfile: 'apache' }) }),
              route,
            ),
            await serveOn(
              '::1',
              downloadview({
                backend: auto({ trustedProxies: ['127.0.0.1'], sendfile: 'apache' }),
              }),
              route,
            ),
          ];
        } catch {
          return skipOrFail(this, 'this host has no IPv6 loopback (::1)');
        }
        try {
          const headers = { 'X-Sendfile-Type': 'X-Sendfile' };
          const [yes, no] = await Promise.all(
            v6.map((s) => request(`http://[::1]:${s.port}/?${nameQuery('a b.txt')}`, { headers })),
          );
          expect(offloadHeaders(yes!)).to.deep.equal({ 'x-sendfile': `${dir}/a b.txt` });
          expect([no!.status, no!.body.toString(), offloadHeaders(no!)]).to.deep.equal([
            200,
            CONTENT['a b.txt'],
            {},
          ]);
        } finally {
          await Promise.all(v6.map((s) => s.close()));
        }
      });
    });
  });

  describe('start-up checks', () => {
    const message = /^auto option "trustedProxies" must be a non-empty array of IP addresses$/;
    const invalid: [string, () => unknown][] = [
      ["backend: 'auto' without trustedProxies", () => downloadview({ backend: 'auto' })],
      [
        "backend: 'auto' with trustedProxies: []",
        () => downloadview({ backend: 'auto', trustedProxies: [] }),
      ],
      [
        "backend: 'auto' with a host name",
        () => downloadview({ backend: 'auto', trustedProxies: ['localhost'] }),
      ],
      ['auto() without options', () => auto(undefined as never)],
      ['auto({}) (trustedProxies missing)', () => auto({} as never)],
      ['auto({ trustedProxies: [] })', () => auto({ trustedProxies: [] })],
      ['a single string instead of an array', () => auto({ trustedProxies: '127.0.0.1' as never })],
      ['an empty string', () => auto({ trustedProxies: [''] })],
      ['a CIDR range', () => auto({ trustedProxies: ['10.0.0.0/8'] })],
      ['an address with a port', () => auto({ trustedProxies: ['127.0.0.1:8080'] })],
      ['one bad entry among good ones', () => auto({ trustedProxies: ['127.0.0.1', 'proxy'] })],
      ['a number', () => auto({ trustedProxies: [2130706433 as never] })],
    ];
    for (const [what, make] of invalid) {
      it(`throws at start-up for ${what}`, () => {
        expect(make).to.throw(TypeError, message);
      });
    }

    it('throws for an unknown option, naming it and the known ones', () => {
      const misspelt = { trustedProxies: ['127.0.0.1'], sendFile: 'apache' } as never;
      expect(() => auto(misspelt)).to.throw(
        TypeError,
        'auto: unknown option "sendFile"; known options: trustedProxies, sendfile',
      );
    });

    it('throws for a "sendfile" that names no supported server', () => {
      const nginx = { trustedProxies: ['127.0.0.1'], sendfile: 'nginx' } as never;
      expect(() => auto(nginx)).to.throw(TypeError, /"sendfile" must be 'apache' or 'lighttpd'/);
    });

    it('accepts IPv4, IPv6 and IPv4-mapped addresses', () => {
      const options: DownloadViewOptions = {
        backend: 'auto',
        trustedProxies: ['127.0.0.1', '::1', '::ffff:10.0.0.1', 'fe80::1'],
      };
      expect(downloadview(options)).to.be.a('function');
      expect(auto({ trustedProxies: ['10.0.0.1'] }).name).to.equal('auto');
    });
  });
});
