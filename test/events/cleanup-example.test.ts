import { expect } from 'chai';
import type { Context, Next } from 'koa';
import { access, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadview, PathFile, type DownloadEvent } from '../../src/index.ts';
import { request } from '../support/http.ts';
import { serve } from '../support/koa.ts';

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

describe('download events: the examples of docs/events.md', () => {
  let plain = '';
  before(async () => {
    plain = await mkdtemp(join(tmpdir(), 'plain-'));
    await writeFile(join(plain, 'a.txt'), 'a');
  });
  after(() => rm(plain, { recursive: true, force: true }));
  const plainFile = (ctx: Context) => {
    ctx.body = new PathFile(join(plain, 'a.txt'), { root: plain });
  };

  it('the clean-up hook deletes a generated file once its download is complete', async () => {
    const generated = new WeakMap<Context, string>();
    const ended: DownloadEvent[] = [];
    const view = downloadview({
      async onDownload(event) {
        if (event.type === 'start') return;
        const dir = generated.get(event.ctx);
        if (dir === undefined) return;
        generated.delete(event.ctx);
        await rm(dir, { recursive: true, force: true });
        ended.push(event);
      },
    });
    let made = '';
    const server = await serve(view, async (ctx: Context) => {
      const dir = await mkdtemp(join(tmpdir(), 'orders-'));
      made = dir;
      await writeFile(join(dir, 'orders.csv'), 'id,total\n1,9.99\n');
      generated.set(ctx, dir);
      ctx.body = new PathFile(join(dir, 'orders.csv'), { root: dir });
    });
    try {
      const res = await request(`${server.url}/exports/orders.csv`);
      expect(res.body.toString()).to.equal('id,total\n1,9.99\n');
      const deadline = Date.now() + 2000;
      while (ended.length === 0 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 5));
      expect(ended.map((event) => event.type)).to.deep.equal(['complete']);
      expect(await exists(made)).to.equal(false);
      expect(server.errors).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });

  it('with no hook and telemetry: false, the response is not wrapped at all', async () => {
    const wrapped: boolean[] = [];
    const outer = async (ctx: Context, next: Next) => {
      await next();
      wrapped.push(Object.hasOwn(ctx.res, 'write') || Object.hasOwn(ctx.res, 'end'));
    };
    const server = await serve(outer, downloadview({ telemetry: false }), plainFile);
    try {
      await request(`${server.url}/`);
      expect(wrapped).to.deep.equal([false]);
    } finally {
      await server.close();
    }
  });

  it('with a hook, a streamed response counts its writes', async () => {
    const wrapped: boolean[] = [];
    const outer = async (ctx: Context, next: Next) => {
      await next();
      wrapped.push(Object.hasOwn(ctx.res, 'write') && Object.hasOwn(ctx.res, 'end'));
    };
    const view = downloadview({ telemetry: false, onDownload: () => undefined });
    const server = await serve(outer, view, plainFile);
    try {
      await request(`${server.url}/`);
      expect(wrapped).to.deep.equal([true]);
    } finally {
      await server.close();
    }
  });
});
