import { expect } from 'chai';
import { downloadview, redirect, StorageFile, VirtualFile } from '../../src/index.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { request } from '../support/http.ts';
import { serve } from '../support/koa.ts';

describe('redirect backend', () => {
  const storage = new MemoryStorage({
    baseUrl: 'https://cdn.test/media/',
    files: { 'a b.txt': 'x' },
  });

  for (const [backend, status] of [
    [redirect(), 302],
    [redirect({ status: 307 }), 307],
    ['redirect', 302],
  ] as const) {
    it(`redirects a file with a URL (${status})`, async () => {
      const server = await serve(downloadview({ backend }), (ctx) => {
        ctx.body = new StorageFile(storage, 'a b.txt');
      });
      try {
        const res = await request(server.url);
        expect(res.status).to.equal(status);
        expect(res.headers['location']).to.equal('https://cdn.test/media/a%20b.txt');
        expect(res.headers['cache-control']).to.equal('no-store');
      } finally {
        await server.close();
      }
    });
  }

  it('streams a file without a URL', async () => {
    const server = await serve(downloadview({ backend: 'redirect' }), (ctx) => {
      ctx.body = new VirtualFile('streamed', { name: 'v.txt' });
    });
    try {
      const res = await request(server.url);
      expect([res.status, res.body.toString()]).to.deep.equal([200, 'streamed']);
    } finally {
      await server.close();
    }
  });

  it('refuses an unknown status at start-up', () => {
    expect(() => redirect({ status: 301 as never })).to.throw(TypeError, /status/);
  });
});

describe('edges: redirect answers', () => {
  it('the 302 carries no Content-Type of the DownloadFile (Koa chose JSON for it)', async () => {
    const storage = new MemoryStorage({ baseUrl: '/cdn/', files: { 'a.txt': 'x' } });
    const server = await serve(downloadview({ backend: 'redirect' }), (ctx) => {
      ctx.body = new StorageFile(storage, 'a.txt');
    });
    try {
      const res = await request(server.url);
      expect(res.status).to.equal(302);
      expect(res.headers['content-type']).to.equal(undefined);
      expect(res.body.length).to.equal(0);
    } finally {
      await server.close();
    }
  });

  it('a missing file answers 404, as when streaming, never a redirect to nothing', async () => {
    const storage = new MemoryStorage({ baseUrl: '/cdn/' });
    const server = await serve(downloadview({ backend: 'redirect' }), (ctx) => {
      ctx.body = new StorageFile(storage, 'missing.txt');
    });
    try {
      const res = await request(server.url);
      expect([res.status, res.headers['location']]).to.deep.equal([404, undefined]);
    } finally {
      await server.close();
    }
  });
});
