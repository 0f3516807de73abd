import { expect } from 'chai';
import type { Context, Next } from 'koa';
import { IncomingMessage, request as httpRequest, ServerResponse } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { utimes } from 'node:fs/promises';
import { Socket } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import {
  apache,
  caddy,
  DownloadFile,
  downloadview,
  lighttpd,
  nginx,
  StorageFile,
  type Backend,
  type DownloadFileStat,
  type DownloadRule,
  type NginxOptions,
  type OffloadTarget,
} from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { tempTree } from '../support/fixtures.ts';
import { request } from '../support/http.ts';
import { createApp, serve, type TestServer } from '../support/koa.ts';

/** Validators are derived by downloadview(); backends called directly get none. */
const NO_VALIDATORS = { etag: undefined, lastModified: undefined };

/** A response as it was on the wire: header values as their exact bytes. */
interface WireResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** Each header's raw bytes, by lower-case name (Node hands them over as latin1). */
  raw: Record<string, Buffer>;
  body: Buffer;
}

function fetchRaw(url: string, method = 'GET'): Promise<WireResponse> {
  if (url.startsWith('https:')) return fetchRawOverHttp2(url, method);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { method }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const raw: Record<string, Buffer> = {};
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          raw[res.rawHeaders[i]!.toLowerCase()] = Buffer.from(res.rawHeaders[i + 1]!, 'latin1');
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          raw,
          body: Buffer.concat(chunks),
        });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** The same over HTTP/2 (TRANSPORT=h2), where Node hands header values over as latin1 too. */
async function fetchRawOverHttp2(url: string, method: string): Promise<WireResponse> {
  const { status, headers, body } = await request(url, { method });
  const raw: Record<string, Buffer> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === 'string') raw[name] = Buffer.from(value, 'latin1');
  }
  return { status, headers, raw, body };
}

const OFFLOAD_HEADERS = ['x-accel-redirect', 'x-sendfile', 'x-offload-url'];

function offloadHeaderNames(res: WireResponse): string[] {
  return OFFLOAD_HEADERS.filter((name) => name in res.raw);
}

/** A file whose local path is whatever a test says, with bytes of its own. */
class CraftedPathFile extends DownloadFile {
  readonly #path: string;
  readonly #stat: DownloadFileStat;

  constructor(path: string, stat: DownloadFileStat = { size: 7 }) {
    super('crafted.txt');
    this.#path = path;
    this.#stat = stat;
  }

  override async stat(): Promise<DownloadFileStat> {
    return this.#stat;
  }

  override async open(): Promise<Readable> {
    return Readable.from([Buffer.from('crafted')]);
  }

  override async localPath(): Promise<string> {
    return this.#path;
  }
}

/** Metadata as the middleware hands it to a backend it asks to offload. */
const STAT = { size: 7, modified: new Date(0) };

/** A Koa context over an unconnected socket, for calling a backend's deliver() directly. */
function bareContext(): Context {
  const req = new IncomingMessage(new Socket());
  req.method = 'GET';
  req.url = '/';
  return createApp().createContext(req, new ServerResponse(req)) as unknown as Context;
}

/**
 * Names every server decodes differently, with each one's percent-encoded form (nginx,
 * lighttpd) and the Content-Disposition built from its base name.
 */
const NAMES: { name: string; encoded: string; disposition: string }[] = [
  {
    name: 'my file.txt',
    encoded: 'my%20file.txt',
    disposition: 'attachment; filename="my file.txt"',
  },
  { name: '100%.txt', encoded: '100%25.txt', disposition: 'attachment; filename="100%.txt"' },
  {
    name: '50%25.txt',
    encoded: '50%2525.txt',
    disposition: `attachment; filename="50%25.txt"; filename*=UTF-8''50%2525.txt`,
  },
  { name: 'q?.txt', encoded: 'q%3F.txt', disposition: 'attachment; filename="q?.txt"' },
  { name: 'hash#.txt', encoded: 'hash%23.txt', disposition: 'attachment; filename="hash#.txt"' },
  {
    name: 'semi;colon.txt',
    encoded: 'semi%3Bcolon.txt',
    disposition: 'attachment; filename="semi;colon.txt"',
  },
  { name: 'a+b.txt', encoded: 'a%2Bb.txt', disposition: 'attachment; filename="a+b.txt"' },
  {
    name: `it's "quoted".txt`,
    encoded: `it's%20%22quoted%22.txt`,
    disposition: `attachment; filename="it's \\"quoted\\".txt"`,
  },
  {
    name: 'отчёт.txt',
    encoded: '%D0%BE%D1%82%D1%87%D1%91%D1%82.txt',
    disposition: `attachment; filename="_____.txt"; filename*=UTF-8''%D0%BE%D1%82%D1%87%D1%91%D1%82.txt`,
  },
  {
    name: '報告書.txt',
    encoded: '%E5%A0%B1%E5%91%8A%E6%9B%B8.txt',
    disposition: `attachment; filename="___.txt"; filename*=UTF-8''%E5%A0%B1%E5%91%8A%E6%9B%B8.txt`,
  },
  {
    name: 'sub dir/nested ü.txt',
    encoded: 'sub%20dir/nested%20%C3%BC.txt',
    disposition: `attachment; filename="nested u.txt"; filename*=UTF-8''nested%20%C3%BC.txt`,
  },
];

/** How each backend writes a name: its header and the exact bytes of the value. */
interface BackendCase {
  label: string;
  header: string;
  make: () => Backend;
  destination: Omit<DownloadRule, 'sourceUrl' | 'sourceDir' | 'backend'>;
  /** The header bytes for `name`, or `undefined` when the backend declines it. */
  expected: (entry: (typeof NAMES)[number]) => Buffer | undefined;
}

const utf8 = (value: string) => Buffer.from(value, 'utf8');
const ascii = (value: string) => Buffer.from(value, 'ascii');

const BACKENDS: BackendCase[] = [
  {
    label: 'nginx',
    header: 'x-accel-redirect',
    make: () => nginx(),
    destination: { destinationUrl: '/protected/' },
    expected: ({ encoded }) => ascii(`/protected/${encoded}`),
  },
  {
    label: 'lighttpd',
    header: 'x-sendfile',
    make: lighttpd,
    destination: { destinationDir: '/srv/media' },
    expected: ({ encoded }) => ascii(`/srv/media/${encoded}`),
  },
  {
    label: 'apache',
    header: 'x-sendfile',
    make: apache,
    destination: { destinationDir: '/srv/media' },
    expected: ({ name }) => utf8(`/srv/media/${name}`),
  },
  {
    label: 'caddy',
    header: 'x-accel-redirect',
    make: caddy,
    destination: { destinationUrl: '/protected/' },
    expected: ({ name }) => (name.includes('?') ? undefined : utf8(`/protected/${name}`)),
  },
];

const ROUTE_HEADERS = { 'Cache-Control': 'private, max-age=60', 'X-Custom': 'kept' };

describe('offload headers', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let server: TestServer;
  const views = new Map<string, ReturnType<typeof downloadview>>();
  const FIXED_TIME = new Date('2024-01-02T03:04:05.678Z');

  before(async () => {
    const files: Record<string, string> = { 'plain.txt': 'plain bytes' };
    for (const { name } of NAMES) files[name] = `bytes of ${name}`;
    const tree = await tempTree(files);
    dir = tree.dir;
    cleanup = tree.cleanup;
    await utimes(join(dir, 'plain.txt'), FIXED_TIME, FIXED_TIME);
    const storage = new FileSystemStorage({ location: dir, baseUrl: '/media/' });

    for (const b of BACKENDS) {
      const backend = b.make();
      views.set(
        `${b.label}-dir`,
        downloadview({ backend, rules: [{ sourceDir: dir, ...b.destination }] }),
      );
      views.set(
        `${b.label}-url`,
        downloadview({ backend, rules: [{ sourceUrl: '/media/', ...b.destination }] }),
      );
    }
    views.set('stream', downloadview());
    views.set(
      'nginx-options',
      downloadview({
        backend: nginx({ buffering: true, charset: 'utf-8', expires: 3600, limitRate: 1048576 }),
        rules: [{ sourceDir: dir, destinationUrl: '/protected/' }],
      }),
    );
    views.set(
      'nginx-off',
      downloadview({
        backend: nginx({ buffering: false, expires: 'off', limitRate: 'off' }),
        rules: [{ sourceDir: dir, destinationUrl: '/protected/' }],
      }),
    );
    views.set(
      'nginx-zero',
      downloadview({
        backend: nginx({ expires: 0, limitRate: 0 }),
        rules: [{ sourceDir: dir, destinationUrl: '/protected/' }],
      }),
    );
    views.set(
      'nginx-per-rule',
      downloadview({
        backend: nginx({ expires: 'off' }),
        rules: [
          {
            sourceDir: join(dir, 'sub dir'),
            destinationUrl: '/sub/',
            backend: nginx({ expires: 60, limitRate: 512 }),
          },
          { sourceDir: dir, destinationUrl: '/protected/' },
        ],
      }),
    );

    const remote = new MemoryStorage({
      baseUrl: 'https://cdn.test/media/',
      files: { 'sub dir/a b.txt': 'remote bytes' },
    });
    const viewOf = (ctx: Context) => views.get(ctx.path.split('/')[1] ?? '');
    server = await serve(
      (ctx: Context, next: Next) => (viewOf(ctx) ?? ((_c: Context, n: Next) => n()))(ctx, next),
      (ctx: Context) => {
        const route = ctx.path.split('/')[2];
        if (route === 'forbidden') {
          ctx.status = 403;
          ctx.body = 'forbidden by the route';
          return;
        }
        if (route === 'thrown') ctx.throw(404, 'no such invoice');
        if (route === 'redirected') return ctx.redirect('/elsewhere');
        if (route === 'accepted') ctx.status = 202; // explicit: Koa keeps it when a body is set
        ctx.set(ROUTE_HEADERS);
        const name = String(ctx.query['name']);
        ctx.body =
          route === 'remote' ? new StorageFile(remote, name) : new StorageFile(storage, name);
      },
    );
  });

  after(async () => {
    await server?.close();
    await cleanup?.();
  });

  const get = (view: string, name: string, route = 'file', method = 'GET') =>
    fetchRaw(`${server.url}/${view}/${route}?name=${encodeURIComponent(name)}`, method);

  describe('the exact header value for each name', () => {
    for (const b of BACKENDS) {
      for (const kind of ['dir', 'url'] as const) {
        for (const entry of NAMES) {
          const expected = b.expected(entry);
          const title = expected
            ? `${b.label} (source${kind === 'dir' ? 'Dir' : 'Url'}) sends ${b.header} ${JSON.stringify(expected.toString('utf8'))} for ${JSON.stringify(entry.name)}${b.label === 'apache' || b.label === 'caddy' ? ' as raw UTF-8' : ''}`
            : `${b.label} (source${kind === 'dir' ? 'Dir' : 'Url'}) declines ${JSON.stringify(entry.name)} and streams it`;
          it(title, async () => {
            const res = await get(`${b.label}-${kind}`, entry.name);
            expect(res.status).to.equal(200);
            if (expected) {
              expect(res.raw[b.header]?.toString('hex')).to.equal(expected.toString('hex'));
              expect(offloadHeaderNames(res)).to.deep.equal([b.header]);
              expect(res.body.length).to.equal(0);
            } else {
              expect(offloadHeaderNames(res)).to.deep.equal([]);
              expect(res.body.toString()).to.equal(`bytes of ${entry.name}`);
            }
          });
        }
      }
    }

    it('nginx and lighttpd values are pure ASCII; Apache and Caddy carry the UTF-8 bytes, not latin1', async () => {
      const name = 'отчёт.txt';
      const [n, l, a, c] = await Promise.all(
        ['nginx-dir', 'lighttpd-dir', 'apache-dir', 'caddy-dir'].map((v) => get(v, name)),
      );
      const highBytes = (buf: Buffer | undefined) => [...(buf ?? [])].filter((x) => x > 0x7e);
      expect(highBytes(n!.raw['x-accel-redirect'])).to.deep.equal([]);
      expect(highBytes(l!.raw['x-sendfile'])).to.deep.equal([]);
      // 'о' is U+043E: UTF-8 D0 BE, never the single (invalid latin1) code unit.
      expect(a!.raw['x-sendfile']!.subarray(11, 13).toString('hex')).to.equal('d0be');
      expect(c!.raw['x-accel-redirect']!.subarray(11, 13).toString('hex')).to.equal('d0be');
    });
  });

  describe('what an offloaded response carries', () => {
    for (const b of BACKENDS) {
      for (const entry of NAMES.filter((e) => b.expected(e) !== undefined)) {
        it(`${b.label}: 200, empty body, Content-Type, Content-Disposition ${JSON.stringify(entry.disposition)}, the route's headers, no file length`, async () => {
          const res = await get(`${b.label}-dir`, entry.name);
          expect(res.status).to.equal(200);
          expect(res.body.length).to.equal(0);
          expect(res.headers['content-type']).to.equal('text/plain; charset=utf-8');
          expect(res.headers['content-disposition']).to.equal(entry.disposition);
          expect(res.headers['cache-control']).to.equal(ROUTE_HEADERS['Cache-Control']);
          expect(res.headers['x-custom']).to.equal('kept');
          expect(res.headers['content-length']).to.equal('0');
          expect(res.headers['accept-ranges']).to.equal(undefined);
        });
      }
    }

    it('the Content-Disposition of an offloaded file is the one streaming sends', async () => {
      for (const b of BACKENDS) {
        for (const { name } of NAMES.filter((e) => b.expected(e) !== undefined)) {
          const [offloaded, streamed] = await Promise.all([
            get(`${b.label}-dir`, name),
            get('stream', name),
          ]);
          expect(streamed.body.toString(), name).to.equal(`bytes of ${name}`);
          expect(offloaded.headers['content-disposition'], `${b.label} ${name}`).to.equal(
            streamed.headers['content-disposition'],
          );
        }
      }
    });

    for (const b of BACKENDS) {
      it(`${b.label}: HEAD answers 200 with the offload header and no body`, async () => {
        const res = await get(`${b.label}-dir`, 'my file.txt', 'file', 'HEAD');
        expect(res.status).to.equal(200);
        expect(res.raw[b.header]?.toString('latin1')).to.equal(
          b.expected(NAMES[0]!)!.toString('latin1'),
        );
        expect(res.body.length).to.equal(0);
      });
    }
  });

  describe('validators', () => {
    it('apache sends the file\'s own ETag and Last-Modified (never "0"), equal to what streaming sends', async () => {
      const res = await get('apache-dir', 'plain.txt');
      const streamed = await get('stream', 'plain.txt');
      // 1704164645 s = 0x65937d25 (nginx's format: whole seconds); 11 bytes = 0xb.
      expect(res.headers['etag']).to.equal('"65937d25-b"');
      expect(res.headers['last-modified']).to.equal('Tue, 02 Jan 2024 03:04:05 GMT');
      expect(res.headers['etag']).to.equal(streamed.headers['etag']);
      expect(res.headers['last-modified']).to.equal(streamed.headers['last-modified']);
      expect(res.raw['x-sendfile']?.toString()).to.equal('/srv/media/plain.txt');
    });

    const apacheValidators: [string, DownloadFileStat, Record<string, string | undefined>][] = [
      [
        'an ETag the source knows is sent as it is, with Last-Modified',
        { size: 7, etag: '"from-the-source"', modified: FIXED_TIME },
        { etag: '"from-the-source"', 'last-modified': 'Tue, 02 Jan 2024 03:04:05 GMT' },
      ],
      [
        'an ETag the source knows is sent even without a modification time',
        { size: 7, etag: '"from-the-source"' },
        { etag: '"from-the-source"', 'last-modified': undefined },
      ],
      [
        'without modification time nor ETag, neither is sent (never "0")',
        { size: 7 },
        { etag: undefined, 'last-modified': undefined },
      ],
    ];
    for (const [what, stat, expected] of apacheValidators) {
      it(`apache: ${what}`, async () => {
        const view = downloadview({
          backend: 'apache',
          rules: [{ sourceDir: '/srv/media', destinationDir: '/srv/media' }],
        });
        const probe = await serve(view, (ctx: Context) => {
          ctx.body = new CraftedPathFile('/srv/media/crafted.txt', stat);
        });
        try {
          const res = await fetchRaw(probe.url);
          expect(res.raw['x-sendfile']?.toString()).to.equal('/srv/media/crafted.txt');
          expect({
            etag: res.headers['etag'],
            'last-modified': res.headers['last-modified'],
          }).to.deep.equal(expected);
        } finally {
          await probe.close();
        }
      });
    }

    for (const label of ['nginx', 'lighttpd', 'caddy']) {
      it(`${label} sends the ETag and Last-Modified streaming sends, for proxies that keep them`, async () => {
        const res = await get(`${label}-dir`, 'plain.txt');
        const streamed = await get('stream', 'plain.txt');
        expect(offloadHeaderNames(res)).to.have.length(1);
        expect(res.headers['etag']).to.match(/^"[0-9a-f]+-[0-9a-f]+"$/);
        expect([res.headers['etag'], res.headers['last-modified']]).to.deep.equal([
          streamed.headers['etag'],
          streamed.headers['last-modified'],
        ]);
      });
    }
  });

  describe('nginx options', () => {
    const accel = (res: WireResponse) =>
      Object.fromEntries(Object.entries(res.headers).filter(([k]) => k.startsWith('x-accel-')));

    it('buffering: true, charset, expires and limitRate become X-Accel-* headers', async () => {
      expect(accel(await get('nginx-options', 'plain.txt'))).to.deep.equal({
        'x-accel-redirect': '/protected/plain.txt',
        'x-accel-buffering': 'yes',
        'x-accel-charset': 'utf-8',
        'x-accel-expires': '3600',
        'x-accel-limit-rate': '1048576',
      });
    });

    it("buffering: false and 'off' values are sent as 'no' and 'off'; no charset when not given", async () => {
      expect(accel(await get('nginx-off', 'plain.txt'))).to.deep.equal({
        'x-accel-redirect': '/protected/plain.txt',
        'x-accel-buffering': 'no',
        'x-accel-expires': 'off',
        'x-accel-limit-rate': 'off',
      });
    });

    it('expires: 0 and limitRate: 0 are sent as 0, not dropped', async () => {
      expect(accel(await get('nginx-zero', 'plain.txt'))).to.deep.equal({
        'x-accel-redirect': '/protected/plain.txt',
        'x-accel-expires': '0',
        'x-accel-limit-rate': '0',
      });
    });

    it('nginx() with no options sends X-Accel-Redirect alone', async () => {
      expect(accel(await get('nginx-dir', 'plain.txt'))).to.deep.equal({
        'x-accel-redirect': '/protected/plain.txt',
      });
    });

    it("a rule's own nginx options replace the global ones for that rule only", async () => {
      expect(accel(await get('nginx-per-rule', 'sub dir/nested ü.txt'))).to.deep.equal({
        'x-accel-redirect': '/sub/nested%20%C3%BC.txt',
        'x-accel-expires': '60',
        'x-accel-limit-rate': '512',
      });
      expect(accel(await get('nginx-per-rule', 'plain.txt'))).to.deep.equal({
        'x-accel-redirect': '/protected/plain.txt',
        'x-accel-expires': 'off',
      });
    });

    const invalid: [keyof NginxOptions, unknown, string][] = [
      ['buffering', 'yes', `nginx option "buffering" must be true or false, got "yes"`],
      ['buffering', 1, `nginx option "buffering" must be true or false, got 1`],
      ['charset', '', `nginx option "charset" must be a charset name such as utf-8, got ""`],
      [
        'charset',
        'utf 8',
        `nginx option "charset" must be a charset name such as utf-8, got "utf 8"`,
      ],
      [
        'charset',
        'utf-8\r\nX-Evil: 1',
        `nginx option "charset" must be a charset name such as utf-8, got "utf-8\\r\\nX-Evil: 1"`,
      ],
      ['charset', 8, `nginx option "charset" must be a charset name such as utf-8, got 8`],
      ['expires', -1, `nginx option "expires" must be a non-negative integer or 'off', got -1`],
      ['expires', 1.5, `nginx option "expires" must be a non-negative integer or 'off', got 1.5`],
      ['expires', '60', `nginx option "expires" must be a non-negative integer or 'off', got "60"`],
      [
        'expires',
        'OFF',
        `nginx option "expires" must be a non-negative integer or 'off', got "OFF"`,
      ],
      ['expires', null, `nginx option "expires" must be a non-negative integer or 'off', got null`],
      [
        'limitRate',
        Infinity,
        `nginx option "limitRate" must be a non-negative integer or 'off', got null`,
      ],
      [
        'limitRate',
        '1k',
        `nginx option "limitRate" must be a non-negative integer or 'off', got "1k"`,
      ],
      [
        'limitRate',
        2 ** 53,
        `nginx option "limitRate" must be a non-negative integer or 'off', got 9007199254740992`,
      ],
    ];
    for (const [option, value, message] of invalid) {
      it(`nginx({ ${option}: ${JSON.stringify(value) ?? String(value)} }) throws at construction: ${message}`, () => {
        expect(() => nginx({ [option]: value } as NginxOptions)).to.throw(TypeError, message);
      });
    }

    it("an invalid option in a rule's own nginx() throws before downloadview() returns", () => {
      expect(() =>
        downloadview({
          backend: 'nginx',
          rules: [{ sourceUrl: '/m/', destinationUrl: '/p/', backend: nginx({ expires: -5 }) }],
        }),
      ).to.throw(TypeError, /nginx option "expires"/);
    });
  });

  describe('nginx remote files (absolute URLs)', () => {
    it('sends X-Accel-Redirect to the destination and the URL, untouched, in X-Offload-Url', async () => {
      views.set(
        'nginx-remote',
        downloadview({
          backend: nginx({ expires: 'off' }),
          rules: [{ sourceUrl: 'https://cdn.test/media/', destinationUrl: '/remote/' }],
        }),
      );
      const res = await get('nginx-remote', 'sub dir/a b.txt', 'remote');
      expect(res.status).to.equal(200);
      expect(res.body.length).to.equal(0);
      expect(res.headers['x-accel-redirect']).to.equal('/remote/');
      expect(res.headers['x-offload-url']).to.equal('https://cdn.test/media/sub%20dir/a%20b.txt');
      expect(res.headers['x-accel-expires']).to.equal('off');
      expect(res.headers['content-disposition']).to.equal('attachment; filename="a b.txt"');
    });
  });

  describe('the offload header goes out only with a 200', () => {
    for (const b of BACKENDS) {
      it(`${b.label}: a route answering 403 itself keeps 403 and its body, no offload header`, async () => {
        const res = await get(`${b.label}-dir`, 'plain.txt', 'forbidden');
        expect([res.status, res.body.toString()]).to.deep.equal([403, 'forbidden by the route']);
        expect(offloadHeaderNames(res)).to.deep.equal([]);
      });

      it(`${b.label}: a route calling ctx.throw(404) answers 404, no offload header`, async () => {
        const res = await get(`${b.label}-dir`, 'plain.txt', 'thrown');
        expect([res.status, res.body.toString()]).to.deep.equal([404, 'no such invoice']);
        expect(offloadHeaderNames(res)).to.deep.equal([]);
      });

      it(`${b.label}: a route redirecting answers 302, no offload header`, async () => {
        const res = await get(`${b.label}-dir`, 'plain.txt', 'redirected');
        expect([res.status, res.headers['location']]).to.deep.equal([302, '/elsewhere']);
        expect(offloadHeaderNames(res)).to.deep.equal([]);
      });

      it(`${b.label}: a route that set ctx.status = 202 before its file gets 200 with the offload header`, async () => {
        const res = await get(`${b.label}-dir`, 'plain.txt', 'accepted');
        expect(res.status).to.equal(200);
        expect(offloadHeaderNames(res)).to.deep.equal([b.header]);
      });

      it(`${b.label}: a missing file matched by sourceDir answers 404, no offload header`, async () => {
        const res = await get(`${b.label}-dir`, 'missing.txt');
        expect(res.status).to.equal(404);
        expect(offloadHeaderNames(res)).to.deep.equal([]);
        expect(res.headers['cache-control']).to.equal(undefined);
      });
    }
  });

  describe('CR, LF and NUL never reach a header raw', () => {
    const targets: [string, string][] = [
      ['LF', 'a\nb.txt'],
      ['CR', 'a\rb.txt'],
      ['CRLF with a header after it', 'a\r\nX-Evil: 1.txt'],
      ['NUL', 'a\0b.txt'],
    ];
    for (const b of BACKENDS) {
      for (const [what, rest] of targets) {
        it(`${b.label}.deliver() with a target holding ${what} declines and sets nothing`, async () => {
          const ctx = bareContext();
          const target: OffloadTarget = {
            destination: b.destination.destinationUrl ?? '/srv/media/',
            rest,
            url: undefined,
          };
          const file = new CraftedPathFile(`/srv/media/${rest}`);
          expect(
            await b.make().deliver(ctx, file, { stat: STAT, validators: NO_VALIDATORS, target }),
          ).to.equal(false);
          expect(ctx.res.getHeaderNames()).to.deep.equal([]);
          expect(ctx.body).to.equal(undefined);
        });
      }
    }

    for (const b of BACKENDS) {
      it(`${b.label}: a file whose local path holds LF is streamed through downloadview(), no offload header`, async () => {
        const view = downloadview({
          backend: b.make(),
          rules: [{ sourceDir: '/srv/media', ...b.destination }],
        });
        const probe = await serve(view, (ctx: Context) => {
          ctx.body = new CraftedPathFile('/srv/media/a\nb.txt');
        });
        try {
          const res = await fetchRaw(probe.url);
          expect([res.status, res.body.toString()]).to.deep.equal([200, 'crafted']);
          expect(offloadHeaderNames(res)).to.deep.equal([]);
        } finally {
          await probe.close();
        }
      });
    }

    for (const b of BACKENDS) {
      it(`${b.label}: a file whose local path holds NUL is streamed (no rule matches it)`, async () => {
        const view = downloadview({
          backend: b.make(),
          rules: [{ sourceDir: '/srv/media', ...b.destination }],
        });
        const probe = await serve(view, (ctx: Context) => {
          ctx.body = new CraftedPathFile('/srv/media/a\0b.txt');
        });
        try {
          const res = await fetchRaw(probe.url);
          expect([res.status, res.body.toString()]).to.deep.equal([200, 'crafted']);
          expect(offloadHeaderNames(res)).to.deep.equal([]);
        } finally {
          await probe.close();
        }
      });
    }

    it('nginx declines when the destination itself holds CR/LF (the value would split the header)', async () => {
      const ctx = bareContext();
      const target: OffloadTarget = { destination: '/p\r\n/', rest: 'a.txt', url: undefined };
      const file = new CraftedPathFile('/x/a.txt');
      expect(
        await nginx().deliver(ctx, file, { stat: STAT, validators: NO_VALIDATORS, target }),
      ).to.equal(false);
      expect(ctx.res.hasHeader('X-Accel-Redirect')).to.equal(false);
    });

    for (const b of BACKENDS) {
      it(`${b.label}.deliver() without a target declines`, async () => {
        const ctx = bareContext();
        expect(await b.make().deliver(ctx, new CraftedPathFile('/srv/media/a.txt'))).to.equal(
          false,
        );
        expect(ctx.res.hasHeader(b.header)).to.equal(false);
      });
    }
  });
});

describe('offload and ETag-dependent requests', () => {
  const target: OffloadTarget = { destination: '/protected/', rest: 'a.txt', url: undefined };
  const file = new CraftedPathFile('/srv/media/a.txt', STAT);
  /** nginx derives '"0-7"' for a 7-byte file of mtime 0; a content hash is another tag. */
  const statMode = { stat: STAT, validators: { etag: '"0-7"', lastModified: new Date(0) }, target };
  const contentMode = { ...statMode, validators: { etag: '"hash"', lastModified: new Date(0) } };
  const asking: [string, Record<string, string>][] = [
    ['If-None-Match', { 'If-None-Match': '"hash"' }],
    ['If-Match', { 'If-Match': '"hash"' }],
    ['If-Range with a tag', { Range: 'bytes=1-', 'If-Range': '"hash"' }],
  ];
  const contextWith = (headers: Record<string, string>) => {
    const ctx = bareContext();
    for (const [name, value] of Object.entries(headers))
      ctx.req.headers[name.toLowerCase()] = value;
    return ctx;
  };

  for (const [label, headers] of asking) {
    it(`nginx declines ${label} when its own tag is not the app's (etag: 'content'): streamed`, async () => {
      expect(await nginx().deliver(contextWith(headers), file, contentMode)).to.equal(false);
    });
    it(`nginx offloads ${label} when its tag is the app's (etag: 'stat')`, async () => {
      expect(await nginx().deliver(contextWith(headers), file, statMode)).to.equal(true);
    });
  }

  it("nginx offloads an If-Range with a date, or a plain GET, whatever the app's tag", async () => {
    const byDate = contextWith({ Range: 'bytes=1-', 'If-Range': new Date(0).toUTCString() });
    expect(await nginx().deliver(byDate, file, contentMode)).to.equal(true);
    const plain = contextWith({});
    expect(await nginx().deliver(plain, file, contentMode)).to.equal(true);
    expect(plain.response.get('ETag')).to.equal('"hash"');
  });
});
