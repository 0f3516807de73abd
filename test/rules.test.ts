import { expect } from 'chai';
import type { Context, Next } from 'koa';
import { realpath, symlink, rm } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import {
  apache,
  caddy,
  DownloadFile,
  downloadview,
  lighttpd,
  nginx,
  PathFile,
  StorageFile,
  VirtualFile,
  type Backend,
  type DownloadFileStat,
  type DownloadRule,
  type DownloadViewOptions,
} from '../src/index.ts';
import { compileRules } from '../src/rules.ts';
import { FileSystemStorage } from '../storages/filesystem.ts';
import { MemoryStorage } from '../storages/memory.ts';
import { tempTree } from './support/fixtures.ts';
import { request, type RawResponse } from './support/http.ts';
import { serve } from './support/koa.ts';

/** A file whose URL and local path are whatever a test says: the inputs rules see. */
class ProbeFile extends DownloadFile {
  static readonly BYTES = 'probe bytes';
  readonly #url: string | undefined;
  readonly #path: string | undefined;

  constructor(where: { url?: string; path?: string }) {
    super('probe.txt');
    this.#url = where.url;
    this.#path = where.path;
  }

  override async stat(): Promise<DownloadFileStat> {
    return { size: Buffer.byteLength(ProbeFile.BYTES) };
  }

  override async open(): Promise<Readable> {
    return Readable.from([Buffer.from(ProbeFile.BYTES)]);
  }

  override async url(): Promise<string | undefined> {
    return this.#url;
  }

  override async localPath(): Promise<string | undefined> {
    return this.#path;
  }
}

/** Where the first matching rule sends `file`, as plain data (or undefined). */
async function firstTarget(rules: DownloadRule[], backend: Backend, file: DownloadFile) {
  for (const rule of compileRules(rules, backend, 'offload')) {
    const target = await rule.match(file);
    if (target) return { ...target };
  }
  return undefined;
}

/** One request to a fresh app running `view` in front of a route that sets `body`. */
async function fetchThrough(
  view: ReturnType<typeof downloadview>,
  body: (ctx: Context) => unknown,
): Promise<RawResponse> {
  const server = await serve(view, (ctx: Context, _next: Next) => {
    ctx.body = body(ctx);
  });
  try {
    return await request(server.url);
  } finally {
    await server.close();
  }
}

const OFFLOAD_HEADERS = ['x-accel-redirect', 'x-sendfile', 'x-offload-url'] as const;

function offloadHeaders(res: RawResponse): Record<string, string | undefined> {
  return Object.fromEntries(
    OFFLOAD_HEADERS.filter((h) => res.headers[h] !== undefined).map((h) => [
      h,
      String(res.headers[h]),
    ]),
  );
}

describe('rules', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let storage: FileSystemStorage;

  before(async () => {
    const tree = await tempTree({
      'a.txt': 'alpha',
      'ab/x.txt': 'beside a',
      'a/x.txt': 'inside a',
      'sub/b.txt': 'bravo',
      'videos/v.txt': 'video',
      'q?.txt': 'question',
    });
    cleanup = tree.cleanup;
    dir = await realpath(tree.dir);
    storage = new FileSystemStorage({ location: dir, baseUrl: '/media/' });
  });

  after(() => cleanup());

  describe('sourceUrl matching (unit, compileRules)', () => {
    const rule: DownloadRule = { sourceUrl: '/media/', destinationUrl: '/protected/' };
    const matches: [string, string][] = [
      ['/media/a.txt', 'a.txt'],
      ['/media/sub/a%20b.txt', 'sub/a b.txt'],
      ['/media/a.txt?sig=1&x=%2F#frag', 'a.txt'],
      ['/media/%D0%BE%D1%82%D1%87%D1%91%D1%82.txt', 'отчёт.txt'],
      ['/media/100%25.txt', '100%.txt'],
      ['/media/%252e%252e/a.txt', '%2e%2e/a.txt'],
      ['/media/q%3F.txt', 'q?.txt'],
    ];
    for (const [url, rest] of matches) {
      it(`maps ${url} to rest ${JSON.stringify(rest)} below /protected/`, async () => {
        const target = await firstTarget([rule], nginx(), new ProbeFile({ url }));
        expect(target).to.deep.equal({ destination: '/protected/', rest, url });
      });
    }

    const refused: [string, string][] = [
      ['a longer first segment', '/mediab/a.txt'],
      ['the prefix without its slash', '/media'],
      ['the prefix alone (empty rest)', '/media/'],
      ['the prefix further down', '/other/media/a.txt'],
      ['a different case', '/MEDIA/a.txt'],
      ['a .. segment', '/media/../secret.txt'],
      ['a .. segment further down', '/media/a/../../secret.txt'],
      ['a . segment', '/media/./a.txt'],
      ['an empty segment', '/media//a.txt'],
      ['a trailing slash (empty last segment)', '/media/sub/'],
      ['%2e%2e', '/media/%2e%2e/secret.txt'],
      ['%2E%2E', '/media/%2E%2E/secret.txt'],
      ['.%2e', '/media/.%2e/secret.txt'],
      ['%2e', '/media/%2e/a.txt'],
      ['an encoded slash %2F', '/media/a%2Fb.txt'],
      ['..%2F climbing in one segment', '/media/..%2Fsecret.txt'],
      ['an encoded backslash %5C', '/media/a%5Cb.txt'],
      ['a backslash', '/media/a\\b.txt'],
      ['..\\ climbing with a backslash', '/media/..\\secret.txt'],
      ['an encoded NUL %00', '/media/a%00.txt'],
      ['a raw NUL', '/media/a\0.txt'],
      ['a truncated escape %E0%A4%A', '/media/%E0%A4%A.txt'],
      ['a non-hex escape %zz', '/media/%zz.txt'],
      ['a lone %', '/media/100%.txt'],
      ['an escape that is not UTF-8 (%C3%28)', '/media/%C3%28.txt'],
    ];
    for (const [what, url] of refused) {
      it(`never matches ${what}: ${JSON.stringify(url)}`, async () => {
        expect(await firstTarget([rule], nginx(), new ProbeFile({ url }))).to.equal(undefined);
      });
    }

    it('never matches a file without a URL', async () => {
      expect(await firstTarget([rule], nginx(), new ProbeFile({ path: `/media/a.txt` }))).to.equal(
        undefined,
      );
    });

    it('adds the missing slash to sourceUrl, so /media never matches /mediab/a.txt', async () => {
      const loose: DownloadRule = { sourceUrl: '/media', destinationUrl: '/protected/' };
      expect(await firstTarget([loose], nginx(), new ProbeFile({ url: '/mediab/a.txt' }))).to.equal(
        undefined,
      );
      expect(
        await firstTarget([loose], nginx(), new ProbeFile({ url: '/media/a.txt' })),
      ).to.deep.equal({ destination: '/protected/', rest: 'a.txt', url: '/media/a.txt' });
    });

    it('matches absolute URLs by prefix, keeping the full URL (query included) in the target', async () => {
      const remote: DownloadRule = {
        sourceUrl: 'https://cdn.test/media',
        destinationUrl: '/remote/',
      };
      const url = 'https://cdn.test/media/a%20b.txt?X-Amz-Signature=ab%2Fc';
      expect(await firstTarget([remote], nginx(), new ProbeFile({ url }))).to.deep.equal({
        destination: '/remote/',
        rest: 'a b.txt',
        url,
      });
      const other = new ProbeFile({ url: 'https://cdn.test.evil/media/a.txt' });
      expect(await firstTarget([remote], nginx(), other)).to.equal(undefined);
    });
  });

  describe('sourceDir matching (unit, compileRules)', () => {
    const rule = (): DownloadRule => ({ sourceDir: dir, destinationDir: '/srv/media' });

    const matches: [string, () => string, string][] = [
      ['a file at the top', () => `${dir}/a.txt`, 'a.txt'],
      ['a nested file with a space', () => `${dir}/sub/a b.txt`, 'sub/a b.txt'],
      [
        'a literal %2e%2e directory (paths are not percent-decoded)',
        () => `${dir}/%2e%2e/a.txt`,
        '%2e%2e/a.txt',
      ],
      ['a name holding ?, # and %', () => `${dir}/q?#100%.txt`, 'q?#100%.txt'],
    ];
    for (const [what, path, rest] of matches) {
      it(`maps ${what} to rest ${JSON.stringify(rest)} below /srv/media/`, async () => {
        const target = await firstTarget([rule()], apache(), new ProbeFile({ path: path() }));
        expect(target).to.deep.equal({ destination: '/srv/media/', rest, url: undefined });
      });
    }

    const refused: [string, () => string | undefined][] = [
      ['a sibling directory sharing the prefix (dir + "b")', () => `${dir}b/a.txt`],
      ['the directory itself', () => dir],
      ['the directory with a slash (empty rest)', () => `${dir}/`],
      ['a .. segment', () => `${dir}/../secret.txt`],
      ['a .. segment further down', () => `${dir}/sub/../../secret.txt`],
      ['a . segment', () => `${dir}/./a.txt`],
      ['an empty segment', () => `${dir}//a.txt`],
      ['a backslash', () => `${dir}/a\\b.txt`],
      ['a NUL byte', () => `${dir}/a\0.txt`],
      ['a relative path', () => 'a.txt'],
      ['a file without a local path', () => undefined],
    ];
    for (const [what, path] of refused) {
      it(`never matches ${what}`, async () => {
        const file = new ProbeFile({ path: path() });
        expect(await firstTarget([rule()], apache(), file)).to.equal(undefined);
      });
    }

    it('sourceDir /x/a never matches /x/ab/x.txt, only /x/a/x.txt', async () => {
      const narrow: DownloadRule = { sourceDir: join(dir, 'a'), destinationUrl: '/a/' };
      const beside = new ProbeFile({ path: join(dir, 'ab', 'x.txt') });
      const inside = new ProbeFile({ path: join(dir, 'a', 'x.txt') });
      expect(await firstTarget([narrow], nginx(), beside)).to.equal(undefined);
      expect(await firstTarget([narrow], nginx(), inside)).to.deep.equal({
        destination: '/a/',
        rest: 'x.txt',
        url: undefined,
      });
    });

    const spellings: [string, () => string][] = [
      ['with a trailing slash', () => `${dir}/`],
      ['with a doubled slash', () => `${dir}//`],
      ['through sub/..', () => `${dir}/sub/..`],
      ['through ./', () => `${dir}/./`],
      ['relative to the working directory', () => relative(process.cwd(), dir)],
    ];
    for (const [how, sourceDir] of spellings) {
      it(`normalises a sourceDir given ${how}`, async () => {
        const normalised: DownloadRule = { sourceDir: sourceDir(), destinationUrl: '/p/' };
        const file = new ProbeFile({ path: `${dir}/sub/b.txt` });
        expect(await firstTarget([normalised], nginx(), file)).to.deep.equal({
          destination: '/p/',
          rest: 'sub/b.txt',
          url: undefined,
        });
      });
    }
  });

  describe('destinations', () => {
    const destinations: [string, DownloadRule, Backend, string][] = [
      ['destinationUrl without a slash', { destinationUrl: '/protected' }, nginx(), '/protected/'],
      ['destinationUrl with a slash', { destinationUrl: '/protected/' }, nginx(), '/protected/'],
      ['destinationUrl /', { destinationUrl: '/' }, caddy(), '/'],
      ['destinationDir without a slash', { destinationDir: '/srv/media' }, apache(), '/srv/media/'],
      ['destinationDir with a slash', { destinationDir: '/srv/media/' }, lighttpd(), '/srv/media/'],
      [
        'destinationDir with .. and //',
        { destinationDir: '/srv//x/../media' },
        apache(),
        '/srv/media/',
      ],
    ];
    for (const [what, destination, backend, expected] of destinations) {
      it(`rewrites ${what} to ${expected}`, async () => {
        const rules = [{ sourceUrl: '/media/', ...destination }];
        const target = await firstTarget(rules, backend, new ProbeFile({ url: '/media/s/a.txt' }));
        expect(target).to.deep.equal({
          destination: expected,
          rest: 's/a.txt',
          url: '/media/s/a.txt',
        });
      });
    }

    const refused: [string, DownloadRule, Backend][] = [
      ['a relative destinationDir', { destinationDir: 'media' }, apache()],
      ['a relative destinationUrl', { destinationUrl: 'protected/' }, nginx()],
      ['an absolute URL as destinationUrl', { destinationUrl: 'http://evil.test/x/' }, nginx()],
      ['a destinationUrl with ..', { destinationUrl: '/a/../protected/' }, caddy()],
      ['a destinationUrl with CR/LF', { destinationUrl: '/p\r\n/' }, nginx()],
      ['a destinationDir with NUL', { destinationDir: '/srv/\0media' }, lighttpd()],
    ];
    for (const [what, destination, backend] of refused) {
      it(`refuses ${what} at set-up`, () => {
        const rules = [{ sourceUrl: '/media/', ...destination }];
        expect(() => downloadview({ backend, rules })).to.throw(TypeError, /must/);
      });
    }

    it('rewrites a sourceUrl match below destinationUrl in the X-Accel-Redirect nginx gets', async () => {
      const view = downloadview({
        backend: 'nginx',
        rules: [{ sourceUrl: '/media', destinationUrl: '/protected' }],
      });
      const res = await fetchThrough(view, () => new StorageFile(storage, 'sub/b.txt'));
      expect(res.status).to.equal(200);
      expect(offloadHeaders(res)).to.deep.equal({ 'x-accel-redirect': '/protected/sub/b.txt' });
    });

    it('rewrites a sourceDir match below destinationDir in the X-Sendfile Apache gets', async () => {
      const view = downloadview({
        backend: 'apache',
        rules: [{ sourceDir: dir, destinationDir: '/srv/media' }],
      });
      const res = await fetchThrough(view, () => new StorageFile(storage, 'sub/b.txt'));
      expect(offloadHeaders(res)).to.deep.equal({ 'x-sendfile': '/srv/media/sub/b.txt' });
    });
  });

  describe('through downloadview()', () => {
    it('the first matching rule wins, even when a later one is more specific', async () => {
      const narrowFirst = downloadview({
        backend: 'nginx',
        rules: [
          { sourceDir: join(dir, 'sub'), destinationUrl: '/sub-protected/' },
          { sourceDir: dir, destinationUrl: '/protected/' },
        ],
      });
      const wideFirst = downloadview({
        backend: 'nginx',
        rules: [
          { sourceDir: dir, destinationUrl: '/protected/' },
          { sourceDir: join(dir, 'sub'), destinationUrl: '/sub-protected/' },
        ],
      });
      const sub = () => new StorageFile(storage, 'sub/b.txt');
      const top = () => new StorageFile(storage, 'a.txt');
      expect(offloadHeaders(await fetchThrough(narrowFirst, sub))).to.deep.equal({
        'x-accel-redirect': '/sub-protected/b.txt',
      });
      expect(offloadHeaders(await fetchThrough(narrowFirst, top))).to.deep.equal({
        'x-accel-redirect': '/protected/a.txt',
      });
      expect(offloadHeaders(await fetchThrough(wideFirst, sub))).to.deep.equal({
        'x-accel-redirect': '/protected/sub/b.txt',
      });
    });

    it('a sourceUrl rule and a sourceDir rule in one list: the first that matches wins', async () => {
      const view = downloadview({
        backend: 'nginx',
        rules: [
          { sourceUrl: '/elsewhere/', destinationUrl: '/never/' },
          { sourceUrl: '/media/sub/', destinationUrl: '/by-url/' },
          { sourceDir: dir, destinationUrl: '/by-dir/' },
        ],
      });
      const bySub = await fetchThrough(view, () => new StorageFile(storage, 'sub/b.txt'));
      const byDir = await fetchThrough(view, () => new StorageFile(storage, 'a.txt'));
      expect(offloadHeaders(bySub)).to.deep.equal({ 'x-accel-redirect': '/by-url/b.txt' });
      expect(offloadHeaders(byDir)).to.deep.equal({ 'x-accel-redirect': '/by-dir/a.txt' });
    });

    it('a file the first matching rule declines is streamed, not offered to later rules', async () => {
      // Caddy cannot serve a name holding '?'; the nginx rule after it must not take the file.
      const view = downloadview({
        backend: 'nginx',
        rules: [
          { sourceDir: dir, destinationUrl: '/caddy/', backend: 'caddy' },
          { sourceDir: dir, destinationUrl: '/protected/' },
        ],
      });
      const res = await fetchThrough(view, () => new StorageFile(storage, 'q?.txt'));
      expect([res.status, res.body.toString()]).to.deep.equal([200, 'question']);
      expect(offloadHeaders(res)).to.deep.equal({});
    });

    it("uses a rule's own backend and options ({ backend: nginx({ expires: 60 }) }) for that rule only", async () => {
      const view = downloadview({
        backend: nginx({ buffering: false }),
        rules: [
          {
            sourceDir: join(dir, 'videos'),
            destinationUrl: '/videos/',
            backend: nginx({ expires: 60 }),
          },
          { sourceDir: dir, destinationUrl: '/protected/' },
        ],
      });
      const video = await fetchThrough(view, () => new StorageFile(storage, 'videos/v.txt'));
      expect(video.headers['x-accel-redirect']).to.equal('/videos/v.txt');
      expect(video.headers['x-accel-expires']).to.equal('60');
      expect(video.headers['x-accel-buffering']).to.equal(undefined);
      const other = await fetchThrough(view, () => new StorageFile(storage, 'a.txt'));
      expect(other.headers['x-accel-redirect']).to.equal('/protected/a.txt');
      expect(other.headers['x-accel-expires']).to.equal(undefined);
      expect(other.headers['x-accel-buffering']).to.equal('no');
    });

    it("uses a rule's backend given by name ('apache' inside an nginx app)", async () => {
      const view = downloadview({
        backend: 'nginx',
        rules: [
          { sourceDir: join(dir, 'sub'), destinationDir: '/srv/sub', backend: 'apache' },
          { sourceDir: dir, destinationUrl: '/protected/' },
        ],
      });
      const res = await fetchThrough(view, () => new StorageFile(storage, 'sub/b.txt'));
      expect(offloadHeaders(res)).to.deep.equal({ 'x-sendfile': '/srv/sub/b.txt' });
    });

    it('offloads a PathFile matched by sourceDir', async () => {
      const view = downloadview({
        backend: 'lighttpd',
        rules: [{ sourceDir: dir, destinationDir: '/srv/media' }],
      });
      const res = await fetchThrough(view, () => new PathFile(join(dir, 'sub', 'b.txt')));
      expect(offloadHeaders(res)).to.deep.equal({ 'x-sendfile': '/srv/media/sub/b.txt' });
    });

    const streamed: [string, () => DownloadFile, string][] = [
      [
        'a file outside every sourceDir (storage without baseUrl)',
        () => new StorageFile(new FileSystemStorage({ location: dir }), 'a.txt'),
        'alpha',
      ],
      [
        'a MemoryStorage file (no path, no URL)',
        () => new StorageFile(new MemoryStorage({ files: { 'm.txt': 'memory' } }), 'm.txt'),
        'memory',
      ],
      [
        'a MemoryStorage file whose URL no sourceUrl matches',
        () =>
          new StorageFile(
            new MemoryStorage({ baseUrl: '/mediab/', files: { 'm.txt': 'memory' } }),
            'm.txt',
          ),
        'memory',
      ],
      [
        'a VirtualFile from a string',
        () => new VirtualFile('virtual', { name: 'v.txt' }),
        'virtual',
      ],
      [
        'a VirtualFile from an iterable',
        () => new VirtualFile(['vir', 'tual'], { name: 'v.txt' }),
        'virtual',
      ],
      [
        'a file whose path holds .. below sourceDir',
        () => new ProbeFile({ path: `${dir}/sub/../a.txt` }),
        ProbeFile.BYTES,
      ],
      [
        'a file whose URL holds %2e%2e below sourceUrl',
        () => new ProbeFile({ url: '/media/sub/%2e%2e/a.txt' }),
        ProbeFile.BYTES,
      ],
      [
        'a file whose path holds a NUL below sourceDir',
        () => new ProbeFile({ path: `${dir}/sub/a\0.txt` }),
        ProbeFile.BYTES,
      ],
    ];
    for (const [what, file, bytes] of streamed) {
      it(`streams ${what} (200, real bytes, no offload header)`, async () => {
        const view = downloadview({
          backend: 'nginx',
          rules: [
            { sourceDir: join(dir, 'sub'), destinationUrl: '/sub/' },
            { sourceUrl: '/media/', destinationUrl: '/protected/' },
          ],
        });
        const res = await fetchThrough(view, file);
        expect([res.status, res.body.toString()]).to.deep.equal([200, bytes]);
        expect(offloadHeaders(res)).to.deep.equal({});
      });
    }

    it('streams every VirtualFile even under a rule for / (it has neither URL nor path)', async () => {
      const view = downloadview({
        backend: 'apache',
        rules: [{ sourceDir: '/', destinationDir: '/' }],
      });
      const res = await fetchThrough(view, () => new VirtualFile('virtual', { name: 'v.txt' }));
      expect([res.status, res.body.toString()]).to.deep.equal([200, 'virtual']);
      expect(offloadHeaders(res)).to.deep.equal({});
    });

    it('a missing file matched by sourceDir answers 404 without an offload header', async () => {
      const view = downloadview({
        backend: 'nginx',
        rules: [{ sourceDir: dir, destinationUrl: '/protected/' }],
      });
      const res = await fetchThrough(view, () => new StorageFile(storage, 'missing.txt'));
      expect(res.status).to.equal(404);
      expect(offloadHeaders(res)).to.deep.equal({});
    });
  });

  describe('symlinked sourceDir', () => {
    let link: string;

    before(async () => {
      link = `${dir}-link`;
      await symlink(dir, link);
    });

    after(() => rm(link, { force: true }));

    it('a sourceDir given through a symlink matches the real paths the storage reports', async () => {
      const view = downloadview({
        backend: 'nginx',
        rules: [{ sourceDir: link, destinationUrl: '/protected/' }],
      });
      const res = await fetchThrough(view, () => new StorageFile(storage, 'sub/b.txt'));
      expect(offloadHeaders(res)).to.deep.equal({ 'x-accel-redirect': '/protected/sub/b.txt' });
    });

    it('a storage located through the symlink matches a sourceDir given through it too', async () => {
      const linked = new FileSystemStorage({ location: link });
      const view = downloadview({
        backend: 'nginx',
        rules: [{ sourceDir: link, destinationUrl: '/protected/' }],
      });
      const res = await fetchThrough(view, () => new StorageFile(linked, 'a.txt'));
      expect(offloadHeaders(res)).to.deep.equal({ 'x-accel-redirect': '/protected/a.txt' });
    });

    it('a symlinked sourceDir does not match siblings of its target', async () => {
      const narrow = `${dir}-link-a`;
      await symlink(join(dir, 'a'), narrow);
      try {
        const rules = [{ sourceDir: narrow, destinationUrl: '/a/' }];
        const beside = new ProbeFile({ path: join(dir, 'ab', 'x.txt') });
        const inside = new ProbeFile({ path: join(dir, 'a', 'x.txt') });
        expect(await firstTarget(rules, nginx(), beside)).to.equal(undefined);
        expect(await firstTarget(rules, nginx(), inside)).to.deep.equal({
          destination: '/a/',
          rest: 'x.txt',
          url: undefined,
        });
      } finally {
        await rm(narrow, { force: true });
      }
    });
  });

  describe('configuration mistakes throw when downloadview() is called', () => {
    const url = { sourceUrl: '/media/', destinationUrl: '/protected/' };
    const mistakes: [string, () => DownloadViewOptions, RegExp][] = [
      [
        'a rule with neither sourceUrl nor sourceDir',
        () => ({ backend: 'nginx', rules: [{ destinationUrl: '/p/' }] }),
        /^downloadview rule #1 needs exactly one of "sourceUrl" or "sourceDir"$/,
      ],
      [
        'a rule with both sourceUrl and sourceDir (numbered #2)',
        () => ({
          backend: 'nginx',
          rules: [url, { sourceUrl: '/m/', sourceDir: '/srv', destinationUrl: '/p/' }],
        }),
        /^downloadview rule #2 needs exactly one of "sourceUrl" or "sourceDir"$/,
      ],
      [
        'a rule that is null',
        () => ({ backend: 'nginx', rules: [null as never] }),
        /^downloadview rule #1 /,
      ],
      [
        'an unknown backend name',
        () => ({ backend: 'nginks' as never, rules: [url] }),
        /^downloadview: unknown backend "nginks"; known backends: stream, nginx, apache, lighttpd, caddy, redirect$/,
      ],
      [
        "an unknown backend name in a rule's backend",
        () => ({ backend: 'nginx', rules: [{ ...url, backend: 'ngnix' as never }] }),
        /^downloadview: unknown backend "ngnix"/,
      ],
      [
        'an empty backend name',
        () => ({ backend: '' as never, rules: [url] }),
        /^downloadview: unknown backend ""/,
      ],
      [
        "'auto' as a rule's backend (it needs trustedProxies)",
        () => ({ backend: 'nginx', rules: [{ ...url, backend: 'auto' as never }] }),
        /^downloadview: unknown backend "auto"/,
      ],
      [
        "a rule's backend that does not offload ('stream')",
        () => ({ backend: 'nginx', rules: [{ ...url, backend: 'stream' }] }),
        /^downloadview rule #1: backend "stream" does not offload to a proxy$/,
      ],
      [
        "a rule's backend that does not offload ('redirect')",
        () => ({ backend: 'nginx', rules: [{ ...url, backend: 'redirect' }] }),
        /^downloadview rule #1: backend "redirect" does not offload to a proxy$/,
      ],
      [
        'nginx without destinationUrl',
        () => ({ backend: 'nginx', rules: [{ sourceDir: '/srv', destinationDir: '/srv' }] }),
        /^downloadview rule #1: backend "nginx" needs "destinationUrl"$/,
      ],
      [
        'caddy without destinationUrl',
        () => ({ backend: caddy(), rules: [{ sourceUrl: '/m/', destinationDir: '/srv' }] }),
        /^downloadview rule #1: backend "caddy" needs "destinationUrl"$/,
      ],
      [
        'apache without destinationDir',
        () => ({ backend: 'apache', rules: [url] }),
        /^downloadview rule #1: backend "apache" needs "destinationDir"$/,
      ],
      [
        'lighttpd without destinationDir',
        () => ({ backend: lighttpd(), rules: [url] }),
        /^downloadview rule #1: backend "lighttpd" needs "destinationDir"$/,
      ],
      [
        "a rule's own apache backend without destinationDir",
        () => ({ backend: 'nginx', rules: [url, { ...url, backend: apache() }] }),
        /^downloadview rule #2: backend "apache" needs "destinationDir"$/,
      ],
      [
        'rules that are an object',
        () => ({ backend: 'nginx', rules: url as never }),
        /^downloadview option "rules" must be an array$/,
      ],
      [
        'rules that are a string',
        () => ({ backend: 'nginx', rules: '/media/' as never }),
        /^downloadview option "rules" must be an array$/,
      ],
      [
        'rules that are null',
        () => ({ backend: 'nginx', rules: null as never }),
        /^downloadview option "rules" must be an array$/,
      ],
      [
        "backend 'nginx' without rules",
        () => ({ backend: 'nginx' }),
        /^downloadview: backend "nginx" offloads only files matched by "rules"; add rules$/,
      ],
      [
        'backend apache() with an empty rules array',
        () => ({ backend: apache(), rules: [] }),
        /^downloadview: backend "apache" offloads only files matched by "rules"; add rules$/,
      ],
      [
        "backend 'lighttpd' without rules",
        () => ({ backend: 'lighttpd' }),
        /^downloadview: backend "lighttpd" offloads only files matched by "rules"/,
      ],
      [
        "backend 'caddy' without rules",
        () => ({ backend: 'caddy' }),
        /^downloadview: backend "caddy" offloads only files matched by "rules"/,
      ],
      [
        'an empty sourceUrl',
        () => ({ backend: 'nginx', rules: [{ sourceUrl: '', destinationUrl: '/p/' }] }),
        /^downloadview rule #1 "sourceUrl" must be a non-empty string$/,
      ],
      [
        'an empty sourceDir',
        () => ({ backend: 'nginx', rules: [{ sourceDir: '', destinationUrl: '/p/' }] }),
        /^downloadview rule #1 "sourceDir" must be a non-empty string$/,
      ],
      [
        'an empty destinationUrl',
        () => ({ backend: 'nginx', rules: [{ sourceUrl: '/m/', destinationUrl: '' }] }),
        /^downloadview rule #1 "destinationUrl" must be a non-empty string$/,
      ],
      [
        'an empty destinationDir',
        () => ({ backend: 'apache', rules: [{ sourceDir: '/srv', destinationDir: '' }] }),
        /^downloadview rule #1 "destinationDir" must be a non-empty string$/,
      ],
      [
        'a sourceDir that is not a string',
        () => ({ backend: 'nginx', rules: [{ sourceDir: 42 as never, destinationUrl: '/p/' }] }),
        /^downloadview rule #1 "sourceDir" must be a non-empty string$/,
      ],
      [
        'a destinationUrl that is not a string',
        () => ({
          backend: 'nginx',
          rules: [{ sourceUrl: '/m/', destinationUrl: ['/p/'] as never }],
        }),
        /^downloadview rule #1 "destinationUrl" must be a non-empty string$/,
      ],
    ];
    for (const [what, options, message] of mistakes) {
      it(`throws a TypeError naming the mistake for ${what}`, () => {
        const opts = options();
        expect(() => downloadview(opts)).to.throw(TypeError, message);
      });
    }

    it('compileRules itself refuses a rule that is not an object', () => {
      expect(() => compileRules([null as never], nginx(), 'offload')).to.throw(
        TypeError,
        /^downloadview rule #1 must be an object$/,
      );
      expect(() => compileRules(['/media/' as never], nginx(), 'offload')).to.throw(
        TypeError,
        /^downloadview rule #1 must be an object$/,
      );
    });

    it('a valid configuration builds without throwing and without touching any file', () => {
      expect(() =>
        downloadview({
          backend: 'nginx',
          rules: [
            { sourceDir: '/does/not/exist', destinationUrl: '/p/' },
            { sourceUrl: '/media/', destinationDir: '/srv', backend: 'lighttpd' },
          ],
        }),
      ).not.to.throw();
    });
  });
});
