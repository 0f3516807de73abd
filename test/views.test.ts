import Router from '@koa/router';
import { expect } from 'chai';
import { rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  downloadview,
  objectDownload,
  pathDownload,
  StorageFile,
  storageDownload,
  virtualDownload,
} from '../src/index.ts';
import { MemoryStorage } from '../storages/memory.ts';
import { contentDisposition } from './support/disposition.ts';
import { HELLO, tempTree } from './support/fixtures.ts';
import { request } from './support/http.ts';
import { serve, type TestServer } from './support/koa.ts';

const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT';

describe('route helpers', () => {
  let server: TestServer;
  let root: string;
  const cleanups: (() => Promise<void>)[] = [];
  const memory = new MemoryStorage({ files: { 'docs/a.txt': 'alpha', 'b c.txt': 'bravo' } });
  const records = new Map([
    ['1', { file: 'docs/a.txt', title: 'Alpha report.txt', type: 'text/x-alpha' }],
    ['2', { file: '', title: 'empty', type: '' }],
    ['3', { file: 'docs/gone.txt', title: 'gone', type: '' }],
  ]);

  before(async () => {
    const outside = await tempTree({ 'secret.txt': SECRET, 'dir/secret.txt': SECRET });
    const inside = await tempTree({ 'hello.txt': HELLO, 'sub/r é.txt': 'unicode' });
    cleanups.push(outside.cleanup, inside.cleanup);
    root = inside.dir;
    await symlink(join(outside.dir, 'secret.txt'), join(root, 'link-out.txt'));
    await symlink(join(outside.dir, 'dir'), join(root, 'dir-out'));
    await symlink(join(root, 'hello.txt'), join(root, 'link-in.txt'));
    await writeFile(`${root}-evil.txt`, SECRET);
    cleanups.push(() => rm(`${root}-evil.txt`, { force: true }));

    const router = new Router();
    router.get('/path/*path', pathDownload({ root }));
    router.get('/fixed', pathDownload({ path: join(root, 'hello.txt'), filename: 'fixed.txt' }));
    router.get('/memory/*path', storageDownload({ storage: memory }));
    router.get('/computed', storageDownload({ storage: memory, path: () => 'b c.txt' }));
    router.get(
      '/virtual/:name',
      virtualDownload({
        name: (ctx) => `${ctx.params['name']}.txt`,
        content: (ctx) => `hi ${ctx.params['name']}`,
      }),
    );
    router.get(
      '/record/:id',
      objectDownload({
        load: (ctx) => records.get(ctx.params['id']!),
        storage: memory,
        field: 'file',
        filenameField: 'title',
        contentTypeField: 'type',
      }),
    );
    router.get(
      '/record-fn/:id',
      objectDownload({
        load: (ctx) => records.get(ctx.params['id']!),
        field: (record) => new StorageFile(memory, record.file, { filename: 'via-function.txt' }),
      }),
    );
    router.get('/forbidden', (ctx) => {
      ctx.throw(403);
    });
    server = await serve(downloadview(), router.routes());
  });
  after(async () => {
    await server.close();
    for (const cleanup of cleanups) await cleanup();
  });

  const get = (path: string) => request(`${server.url}${path}`);

  it('pathDownload serves a file under the root', async () => {
    const res = await get('/path/hello.txt');
    expect([res.status, res.body.equals(HELLO)]).to.deep.equal([200, true]);
  });

  it('pathDownload serves a Unicode name given percent-encoded', async () => {
    const res = await get(`/path/sub/${encodeURIComponent('r é.txt')}`);
    expect([res.status, res.body.toString()]).to.deep.equal([200, 'unicode']);
  });

  it('pathDownload follows a symlink that stays inside the root', async () => {
    expect((await get('/path/link-in.txt')).body.equals(HELLO)).to.equal(true);
  });

  it('pathDownload with a fixed path needs no root', async () => {
    const res = await get('/fixed');
    expect(contentDisposition(res.headers).filename).to.equal('fixed.txt');
  });

  it('pathDownload refuses a request-built path without a root at set-up', () => {
    expect(() => pathDownload({ path: (ctx) => ctx.path })).to.throw(TypeError, /root/);
  });

  describe('security: paths built from the request never leave the root', () => {
    const attempts: [string, () => string][] = [
      ['encoded ..', () => '/path/..%2F..%2Fsecret.txt'],
      ['encoded dots', () => '/path/%2e%2e/secret.txt'],
      ['double-encoded dots', () => '/path/%252e%252e/secret.txt'],
      ['NUL byte', () => '/path/hello.txt%00.png'],
      ['absolute path', () => `/path/${encodeURIComponent('/etc/passwd')}`],
      ['backslash traversal', () => '/path/..%5C..%5Csecret.txt'],
      ['symlink to a file outside', () => '/path/link-out.txt'],
      ['symlink to a directory outside', () => '/path/dir-out/secret.txt'],
      [
        'sibling sharing the root prefix',
        () => `/path/..%2F${encodeURIComponent(root.split('/').pop()!)}-evil.txt`,
      ],
    ];
    for (const [what, path] of attempts) {
      it(`answers 404 with no outside byte for ${what}`, async () => {
        const res = await get(path());
        expect(res.status).to.equal(404);
        expect(res.body.toString()).to.not.contain(SECRET);
        expect(res.body.toString()).to.not.contain(root);
      });
    }
  });

  it('storageDownload takes the name from the router parameter', async () => {
    expect((await get('/memory/docs/a.txt')).body.toString()).to.equal('alpha');
  });

  it('storageDownload takes the name from a function of ctx', async () => {
    expect((await get('/computed')).body.toString()).to.equal('bravo');
  });

  it('storageDownload answers 404 for a missing name', async () => {
    expect((await get('/memory/nope.txt')).status).to.equal(404);
  });

  it('virtualDownload computes name and content per request', async () => {
    const res = await get('/virtual/ada');
    expect(res.body.toString()).to.equal('hi ada');
    expect(contentDisposition(res.headers).filename).to.equal('ada.txt');
  });

  it('objectDownload serves the file a record holds, named and typed from its fields', async () => {
    const res = await get('/record/1');
    expect(res.body.toString()).to.equal('alpha');
    expect(res.headers['content-type']).to.equal('text/x-alpha');
    expect(contentDisposition(res.headers).filename).to.equal('Alpha report.txt');
  });

  it('objectDownload accepts a function returning a DownloadFile', async () => {
    const res = await get('/record-fn/1');
    expect(contentDisposition(res.headers).filename).to.equal('via-function.txt');
  });

  const missing: [string, string][] = [
    ['a missing record', '/record/404'],
    ['an empty file field', '/record/2'],
    ['a field naming a missing file', '/record/3'],
  ];
  for (const [what, path] of missing) {
    it(`objectDownload answers 404 for ${what}`, async () => {
      expect((await get(path)).status).to.equal(404);
    });
  }

  it('keeps a 403 decided by the route', async () => {
    expect((await get('/forbidden')).status).to.equal(403);
  });
});
