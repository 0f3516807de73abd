import { expect } from 'chai';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { downloadview, StorageFile, VirtualFile } from '../../src/index.ts';
import type { Storage } from '../../src/storage.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { countingStorage, randomFile, tempTree } from '../support/fixtures.ts';
import { leaveMidBody, openDescriptorCount, request, sentWithoutLength } from '../support/http.ts';
import { serve } from '../support/koa.ts';

/** A storage whose reads fail after `goodBytes` bytes, as a failing disk or network would. */
function failingStorage(inner: Storage, goodBytes: number): Storage {
  let failing = false;
  return withMethods(inner, {
    open: async () =>
      new Readable({
        read() {
          // The first read succeeds, so the headers and some bytes are on the wire first.
          if (this.readableLength === 0 && !failing) {
            failing = true;
            this.push(Buffer.alloc(goodBytes, 0x61));
            return;
          }
          setTimeout(
            () => this.destroy(Object.assign(new Error('EIO: i/o error, read'), { code: 'EIO' })),
            20,
          );
        },
      }),
  });
}

/** `inner` with some methods replaced (drivers keep private state, so no prototype tricks). */
function withMethods(inner: Storage, replaced: Partial<Storage>): Storage {
  return {
    driver: inner.driver,
    stat: (name) => inner.stat(name),
    open: (name, range) => inner.open(name, range),
    exists: (name) => inner.exists!(name),
    save: (name, content) => inner.save!(name, content),
    delete: (name) => inner.delete!(name),
    path: (name) => inner.path!(name),
    url: (name) => inner.url!(name),
    ...replaced,
  };
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

describe('streaming backend: failures and disconnects', () => {
  it('closes the file when the client disconnects mid-download, and reports no error', async () => {
    const tree = await tempTree({ 'big.bin': randomFile(16 * 1024 * 1024) });
    const storage = countingStorage(new FileSystemStorage({ location: tree.dir }));
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new StorageFile(storage, 'big.bin');
    });
    try {
      // The connection is opened first: over HTTP/2 the client resets only its stream, and
      // the session (two descriptors here) stays open, as a browser's does.
      await request(`${server.url}/`, { method: 'HEAD' });
      const baseline = await openDescriptorCount();
      await leaveMidBody(`${server.url}/`);
      await until(() => storage.opens === 1 && storage.liveStreams === 0);
      await until(async () => (await openDescriptorCount()) <= baseline);
      await sleep(50);
      expect(server.errors).to.deep.equal([]);
    } finally {
      await server.close();
      await tree.cleanup();
    }
  });

  it('aborts the connection on a read error after the headers, reporting it exactly once', async () => {
    const storage = failingStorage(
      new MemoryStorage({ files: { 'a.bin': randomFile(1 << 20) } }),
      1000,
    );
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new StorageFile(storage, 'a.bin');
    });
    try {
      const res = await request(`${server.url}/`);
      expect(res.status).to.equal(200);
      expect(res.aborted, 'the short body must not look complete').to.equal(true);
      expect(res.body.length).to.be.lessThan(1 << 20);
      await sleep(50);
      expect(server.errors.map((e) => (e as NodeJS.ErrnoException).code)).to.deep.equal(['EIO']);
    } finally {
      await server.close();
    }
  });

  it('aborts a chunked response (unknown length) on a generator error', async () => {
    async function* failing() {
      yield 'first line\n';
      throw new Error('generator failed');
    }
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new VirtualFile(failing(), { name: 'report.csv' });
    });
    try {
      const res = await request(`${server.url}/`);
      expect(sentWithoutLength(res)).to.equal(true);
      expect(res.aborted).to.equal(true);
      await sleep(50);
      expect(server.errors.map((e) => e.message)).to.deep.equal(['generator failed']);
    } finally {
      await server.close();
    }
  });

  it('answers 500 without details when the storage fails before the headers', async () => {
    const broken = withMethods(new MemoryStorage(), {
      stat: async () => {
        throw Object.assign(new Error('EACCES: permission denied, stat /secret/root/a'), {
          code: 'EACCES',
        });
      },
    });
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new StorageFile(broken, 'a');
    });
    try {
      const res = await request(`${server.url}/`);
      expect(res.status).to.equal(500);
      expect(res.body.toString()).to.equal('Internal Server Error');
      expect(server.errors).to.have.length(1);
    } finally {
      await server.close();
    }
  });
});
