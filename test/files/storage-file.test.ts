import { expect } from 'chai';
import type { Context } from 'koa';
import {
  downloadview,
  PathFile,
  pathDownload,
  StorageFile,
  storageDownload,
  StorageInvalidNameError,
} from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { countingStorage } from '../support/fixtures.ts';
import { request } from '../support/http.ts';
import { serve } from '../support/koa.ts';
import { tempTree } from '../support/fixtures.ts';

const DOTTED = ['.env', '.git/config', 'sub/.hidden.txt', '.well-known/x.txt', 'a/.b'];

describe('security: dotfiles are refused by default', () => {
  let tree: Awaited<ReturnType<typeof tempTree>>;

  before(async () => {
    tree = await tempTree({
      '.env': 'SECRET=1',
      '.git/config': '[core]',
      'sub/.hidden.txt': 'hidden',
      '.well-known/x.txt': 'well known',
      'plain.txt': 'plain',
    });
  });
  after(() => tree.cleanup());

  for (const name of DOTTED) {
    it(`StorageFile(${JSON.stringify(name)}) rejects every access with an invalid-name error, before the storage is asked`, async () => {
      const storage = countingStorage(new MemoryStorage({ files: { [name]: 'x' } }));
      const file = new StorageFile(storage, name);
      for (const access of [
        () => file.stat(),
        () => file.open(),
        () => file.openFile(),
        () => file.localPath(),
        () => file.url(),
      ]) {
        const err: unknown = await access().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(StorageInvalidNameError);
      }
      expect(storage.opens).to.equal(0);
    });
  }

  it('through HTTP: helpers and hand-made files answer 404 for dotfiles, 200 for others', async () => {
    const storage = new FileSystemStorage({ location: tree.dir });
    const server = await serve(downloadview(), async (ctx: Context, next) => {
      const [, kind, ...rest] = ctx.path.split('/');
      const name = decodeURIComponent(rest.join('/'));
      (ctx as Context & { params: Record<string, string> }).params = { path: name };
      if (kind === 'storage') return storageDownload({ storage })(ctx);
      if (kind === 'path') return pathDownload({ root: tree.dir })(ctx);
      if (kind === 'own') ctx.body = new StorageFile(storage, name);
      else if (kind === 'pathfile') ctx.body = new PathFile(name, { root: tree.dir });
      else await next();
    });
    try {
      for (const kind of ['storage', 'path', 'own', 'pathfile']) {
        for (const name of ['.env', '.git/config', 'sub/.hidden.txt']) {
          const res = await request(`${server.url}/${kind}/${name}`);
          expect([res.status, res.body.toString()], `${kind} ${name}`).to.deep.equal([
            404,
            'Not Found',
          ]);
        }
        const ok = await request(`${server.url}/${kind}/plain.txt`);
        expect([ok.status, ok.body.toString()], kind).to.deep.equal([200, 'plain']);
      }
      expect(server.errors.filter((e) => !(e as { expose?: boolean }).expose)).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });

  it("dotfiles: 'allow' serves them, for helpers and hand-made files", async () => {
    const storage = new FileSystemStorage({ location: tree.dir });
    const server = await serve(downloadview(), (ctx: Context) => {
      ctx.body =
        ctx.path === '/path'
          ? new PathFile('.well-known/x.txt', { root: tree.dir, dotfiles: 'allow' })
          : new StorageFile(storage, '.well-known/x.txt', { dotfiles: 'allow' });
    });
    try {
      for (const path of ['/storage', '/path']) {
        const res = await request(server.url + path);
        expect([res.status, res.body.toString()], path).to.deep.equal([200, 'well known']);
      }
    } finally {
      await server.close();
    }
  });

  it('a PathFile without root refuses a dot segment anywhere in its path', async () => {
    const file = new PathFile(`${tree.dir}/.env`);
    const err: unknown = await file.stat().catch((e: unknown) => e);
    expect(err).to.be.instanceOf(StorageInvalidNameError);
  });

  it("refuses a dotfiles value other than 'deny' or 'allow' at construction", () => {
    const storage = new MemoryStorage();
    expect(() => new StorageFile(storage, 'a', { dotfiles: 'ignore' as never })).to.throw(
      TypeError,
      /"dotfiles" must be 'deny' or 'allow'/,
    );
  });
});

describe('a read-only storage (stat and open only, no optional capability)', () => {
  const memory = new MemoryStorage({ files: { 'a.txt': 'read-only bytes' } });
  const readOnly = {
    driver: 'read-only',
    stat: (name: string) => memory.stat(name),
    open: (...args: Parameters<MemoryStorage['open']>) => memory.open(...args),
  };

  const cases: [string, Parameters<typeof downloadview>[0]][] = [
    ['streaming', {}],
    [
      'nginx with a sourceUrl rule (no url(): not offloadable, streamed)',
      {
        backend: 'nginx',
        rules: [{ sourceUrl: '/media/', destinationUrl: '/protected/' }],
      },
    ],
    [
      'apache with a sourceDir rule (no path(): streamed)',
      {
        backend: 'apache',
        rules: [{ sourceDir: '/srv', destinationDir: '/srv' }],
      },
    ],
    ['redirect (no url(): streamed)', { backend: 'redirect' }],
  ];
  for (const [label, options] of cases) {
    it(`is downloaded with ${label}: 200 and its bytes`, async () => {
      const server = await serve(
        downloadview(options),
        storageDownload({ storage: readOnly, path: 'a.txt' }),
      );
      try {
        const res = await request(server.url + '/');
        expect([res.status, res.body.toString()]).to.deep.equal([200, 'read-only bytes']);
        expect(res.headers['x-accel-redirect'] ?? res.headers['x-sendfile']).to.equal(undefined);
        const range = await request(server.url + '/', { headers: { Range: 'bytes=5-8' } });
        expect([range.status, range.body.toString()]).to.deep.equal([206, 'only']);
      } finally {
        await server.close();
      }
    });
  }

  it('StorageFile.localPath() and url() resolve undefined instead of failing', async () => {
    const file = new StorageFile(readOnly, 'a.txt');
    expect([await file.localPath(), await file.url()]).to.deep.equal([undefined, undefined]);
  });
});
