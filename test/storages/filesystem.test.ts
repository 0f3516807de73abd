import { expect } from 'chai';
import { mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  STORAGE_ERROR_CODES,
  StorageInvalidNameError,
  StorageNotFoundError,
} from '../../src/errors.ts';
import { downloadview, pathDownload, StorageFile } from '../../src/index.ts';
import { rejection } from '../../src/testing/storage-contract.ts';
import { describeStorageContract } from '../../src/testing/storage-contract.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { tempTree } from '../support/fixtures.ts';
import { request } from '../support/http.ts';
import { serve } from '../support/koa.ts';

describeStorageContract('FileSystemStorage', async (fixtures) => {
  const tree = await tempTree(fixtures);
  return {
    storage: new FileSystemStorage({ location: tree.dir, baseUrl: '/media/' }),
    cleanup: tree.cleanup,
  };
});

describeStorageContract('FileSystemStorage without baseUrl', async (fixtures) => {
  const tree = await tempTree(fixtures);
  return { storage: new FileSystemStorage({ location: tree.dir }), cleanup: tree.cleanup };
});

// The default on this machine is whichever 'auto' picks; the other way of looking names up
// keeps the same contract.
for (const lookups of ['blocking', 'thread-pool'] as const) {
  describeStorageContract(`FileSystemStorage (lookups: '${lookups}')`, async (fixtures) => {
    const tree = await tempTree(fixtures);
    return {
      storage: new FileSystemStorage({ location: tree.dir, lookups }),
      cleanup: tree.cleanup,
    };
  });
}

describe('FileSystemStorage', () => {
  const invalid: [string, unknown][] = [
    ['no location', {}],
    ['an empty location', { location: '' }],
    ['an empty baseUrl', { location: '/tmp', baseUrl: '' }],
    ['a zero readChunkSize', { location: '/tmp', readChunkSize: 0 }],
    ['a fractional readChunkSize', { location: '/tmp', readChunkSize: 1.5 }],
    ['a string readChunkSize', { location: '/tmp', readChunkSize: '65536' }],
    ['an unknown lookups value', { location: '/tmp', lookups: 'sync' }],
  ];
  for (const [what, options] of invalid) {
    it(`throws a TypeError naming the option for ${what}`, () => {
      expect(() => new FileSystemStorage(options as never)).to.throw(
        TypeError,
        /FileSystemStorage option/,
      );
    });
  }

  it('throws a TypeError naming an unknown option and the known ones', () => {
    expect(() => new FileSystemStorage({ location: '/tmp', baseurl: '/x' } as never)).to.throw(
      TypeError,
      /FileSystemStorage: unknown option "baseurl"; known options: location, baseUrl, readChunkSize, lookups/,
    );
  });

  it('reads in chunks of readChunkSize bytes', async () => {
    const tree = await tempTree({ 'big.bin': Buffer.alloc(100_000, 7) });
    try {
      const storage = new FileSystemStorage({ location: tree.dir, readChunkSize: 10_000 });
      const sizes: number[] = [];
      for await (const chunk of await storage.open('big.bin')) sizes.push(chunk.length);
      expect(sizes).to.deep.equal(Array(10).fill(10_000));
    } finally {
      await tree.cleanup();
    }
  });

  it('builds URLs under baseUrl with or without a trailing slash', async () => {
    expect(
      await new FileSystemStorage({ location: '/tmp', baseUrl: 'https://cdn.test/m' }).url(
        'a b.txt',
      ),
    ).to.equal('https://cdn.test/m/a%20b.txt');
  });

  it('works when the root itself is a symlink', async () => {
    const tree = await tempTree({ 'a.txt': 'through a link' });
    const link = join(await mkdtemp(join(tmpdir(), 'kdv-link-')), 'root');
    await symlink(tree.dir, link);
    try {
      const storage = new FileSystemStorage({ location: link });
      expect((await storage.stat('a.txt')).size).to.equal(14);
    } finally {
      await rm(join(link, '..'), { recursive: true, force: true });
      await tree.cleanup();
    }
  });

  // A deployment switching `current -> releases/N` under a running app: the root's real path
  // is kept between requests, and must follow the switch instead of refusing every file.
  it('follows a root symlink switched to another directory, and still confines', async () => {
    const first = await tempTree({ 'a.txt': 'first release' });
    const second = await tempTree({ 'a.txt': 'second release!', 'b.txt': 'new file' });
    const outside = await tempTree({ 'secret.txt': 'secret' });
    const parent = await mkdtemp(join(tmpdir(), 'kdv-switch-'));
    const current = join(parent, 'current');
    try {
      await symlink(first.dir, current);
      await symlink(join(outside.dir, 'secret.txt'), join(second.dir, 'escape.txt'));
      const storage = new FileSystemStorage({ location: current });
      const text = async (name: string) => (await (await storage.openFile(name)).read()).toString();
      expect(await text('a.txt')).to.equal('first release');
      // Switched atomically, as deployment tools do: a new link renamed over the old one.
      await symlink(second.dir, join(parent, 'next'));
      await rename(join(parent, 'next'), current);
      expect(await text('a.txt')).to.equal('second release!');
      expect(await text('b.txt')).to.equal('new file');
      expect((await storage.stat('b.txt')).size).to.equal(8);
      for (const read of [() => storage.openFile('escape.txt'), () => storage.stat('escape.txt')]) {
        const err = await read().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).to.be.instanceOf(StorageInvalidNameError);
      }
    } finally {
      await rm(parent, { recursive: true, force: true });
      await Promise.all([first, second, outside].map((tree) => tree.cleanup()));
    }
  });

  it('treats a directory as not found', async () => {
    const tree = await tempTree({ 'dir/a.txt': 'x' });
    try {
      const storage = new FileSystemStorage({ location: tree.dir });
      let code: unknown;
      await storage.open('dir').catch((err: { code: unknown }) => (code = err.code));
      expect(code).to.equal('ERR_STORAGE_NOT_FOUND');
    } finally {
      await tree.cleanup();
    }
  });
});

// A name the filesystem cannot hold (ENAMETOOLONG) names no file: it is the client's name that
// is wrong, so 404, never a 503 logged as the server's failure.
describe('FileSystemStorage: names too long for the filesystem', () => {
  const tooLong: [string, string][] = [
    ['a segment of 300 bytes (over the 255-byte NAME_MAX)', 'a'.repeat(300)],
    ['a segment of 150 characters and 300 bytes of UTF-8', 'é'.repeat(150)],
    ['a path of 4,205 bytes (over the 4,096-byte PATH_MAX)', 'd/'.repeat(2100) + 'x.txt'],
  ];
  let tree: Awaited<ReturnType<typeof tempTree>>;
  let storage: FileSystemStorage;
  before(async () => {
    tree = await tempTree({ 'a.txt': 'a file' });
    storage = new FileSystemStorage({ location: tree.dir });
  });
  after(() => tree.cleanup());

  for (const [what, name] of tooLong) {
    it(`rejects ${what} with StorageNotFoundError from every call`, async () => {
      const calls: [string, () => Promise<unknown>][] = [
        ['stat', () => storage.stat(name)],
        ['open', () => storage.open(name)],
        ['openFile', () => storage.openFile(name)],
        ['path', () => storage.path(name)],
      ];
      for (const [what, call] of calls) {
        const err = await rejection(call());
        expect(err, what).to.be.instanceOf(StorageNotFoundError);
        expect(err.code).to.equal(STORAGE_ERROR_CODES.notFound);
      }
      expect(await storage.exists(name)).to.equal(false);
    });

    it(`answers 404 to ${what} over HTTP, reporting nothing but the 404`, async () => {
      const viaPath = pathDownload({ root: tree.dir, path: name });
      const server = await serve(downloadview(), async (ctx) => {
        if (ctx.path === '/path') await viaPath(ctx);
        else ctx.body = new StorageFile(storage, name);
      });
      try {
        for (const path of ['/storage', '/path']) {
          for (const method of ['GET', 'HEAD']) {
            expect((await request(`${server.url}${path}`, { method })).status).to.equal(404);
          }
        }
        // Koa emits every thrown error, a 404 included; none may be anything else.
        const statuses = server.errors.map((err) => (err as { status?: number }).status);
        expect(statuses).to.deep.equal([404, 404, 404, 404]);
      } finally {
        await server.close();
      }
    });
  }
});
