import { expect } from 'chai';
import { downloadview, StorageChangedError, StorageFile } from '../../src/index.ts';
import type { OpenOptions, Storage } from '../../src/storage.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { request } from '../support/http.ts';
import { serve } from '../support/koa.ts';

const OLD = 'old version of the file\n';
const NEW = 'new version, written while the first response was being planned\n';

/**
 * A MemoryStorage whose file is replaced right after the next `changes` stats, as a writer on
 * another machine would between a HEAD and a GET on S3. Records the `ifMatch` of every open.
 */
function changingStorage(changes: number) {
  const inner = new MemoryStorage({ files: { 'a.txt': OLD } });
  const pinned: (string | undefined)[] = [];
  let version = 0;
  const storage: Storage = {
    driver: inner.driver,
    stat: async (name) => {
      const stat = await inner.stat(name);
      if (version < changes) await inner.save(name, version++ === 0 ? NEW : `${NEW}${version}`);
      return stat;
    },
    open: (name, range, options?: OpenOptions) => {
      pinned.push(options?.ifMatch);
      return inner.open(name, range, options);
    },
    exists: (name) => inner.exists(name),
    save: (name, content) => inner.save(name, content),
    delete: (name) => inner.delete(name),
    path: (name) => inner.path(name),
    url: (name) => inner.url(name),
  };
  return { storage, inner, pinned };
}

describe('streaming backend: a file that changes between its metadata and its bytes', () => {
  it('pins every read to the ETag it planned from', async () => {
    const storage = new MemoryStorage({ files: { 'a.txt': OLD } });
    const seen: (string | undefined)[] = [];
    const recording: Storage = Object.assign(Object.create(null) as Storage, {
      driver: 'memory',
      stat: (name: string) => storage.stat(name),
      open: (name: string, range: undefined, options?: OpenOptions) => {
        seen.push(options?.ifMatch);
        return storage.open(name, range, options);
      },
    });
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new StorageFile(recording, 'a.txt');
    });
    try {
      const res = await request(server.url);
      expect(res.body.toString()).to.equal(OLD);
      expect(seen).to.deep.equal([(await storage.stat('a.txt')).etag]);
      expect(res.headers.etag).to.equal((await storage.stat('a.txt')).etag);
    } finally {
      await server.close();
    }
  });

  it('plans again and sends the new version whole, with its own ETag', async () => {
    const { storage, inner, pinned } = changingStorage(1);
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new StorageFile(storage, 'a.txt');
    });
    try {
      const res = await request(server.url);
      const current = await inner.stat('a.txt');
      expect(res.status).to.equal(200);
      expect(res.body.toString()).to.equal(NEW);
      expect(res.headers.etag).to.equal(current.etag);
      expect(res.headers['content-length']).to.equal(String(NEW.length));
      expect(pinned).to.have.length(2);
      expect(pinned[1]).to.equal(current.etag);
      expect(pinned[0]).not.to.equal(current.etag);
    } finally {
      await server.close();
    }
  });

  it('answers If-Range with the old ETag by the new file whole (200), not a range of it', async () => {
    const { storage, inner } = changingStorage(1);
    const oldEtag = (await inner.stat('a.txt')).etag!;
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new StorageFile(storage, 'a.txt');
    });
    try {
      const res = await request(server.url, {
        headers: { Range: 'bytes=0-2', 'If-Range': oldEtag },
      });
      expect(res.status).to.equal(200);
      expect(res.body.toString()).to.equal(NEW);
      expect(res.headers['content-range']).to.equal(undefined);
    } finally {
      await server.close();
    }
  });

  it('gives up with 503 (no bytes) on a file that changes on every plan', async () => {
    const { storage } = changingStorage(Infinity);
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new StorageFile(storage, 'a.txt');
    });
    try {
      const res = await request(server.url);
      expect(res.status).to.equal(503);
      expect(res.body.toString()).not.to.include('version');
      expect(server.errors.map((err) => (err as { cause?: unknown }).cause)).to.satisfy(
        (causes: unknown[]) => causes.length === 1 && causes[0] instanceof StorageChangedError,
      );
    } finally {
      await server.close();
    }
  });
});
