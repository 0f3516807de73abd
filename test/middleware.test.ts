import { expect } from 'chai';
import {
  downloadview,
  pathDownload,
  StorageFile,
  storageDownload,
  VirtualFile,
  type Backend,
} from '../src/index.ts';
import { FileSystemStorage } from '../storages/filesystem.ts';
import { MemoryStorage } from '../storages/memory.ts';
import { tempTree } from './support/fixtures.ts';
import { request } from './support/http.ts';
import { serve, TRANSPORT } from './support/koa.ts';

describe('downloadview()', () => {
  it('is a named middleware function (Koa logs fn.name)', () => {
    expect(downloadview().name).to.equal('downloadview');
  });

  it('leaves bodies that are not DownloadFiles alone', async () => {
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = { ok: true };
    });
    try {
      const res = await request(server.url);
      expect(JSON.parse(res.body.toString())).to.deep.equal({ ok: true });
    } finally {
      await server.close();
    }
  });

  it('streams when the configured backend declines the file', async () => {
    const seen: string[] = [];
    const declining: Backend = {
      name: 'declining',
      async deliver(_ctx, file) {
        seen.push(file.filename);
        return false;
      },
    };
    const server = await serve(downloadview({ backend: declining }), (ctx) => {
      ctx.body = new VirtualFile('streamed', { name: 'a.txt' });
    });
    try {
      expect((await request(server.url)).body.toString()).to.equal('streamed');
      expect(seen).to.deep.equal(['a.txt']);
    } finally {
      await server.close();
    }
  });

  it("accepts the backend name 'stream', so environments differ only in the name", async () => {
    const server = await serve(downloadview({ backend: 'stream' }), (ctx) => {
      ctx.body = new VirtualFile('streamed', { name: 'a.txt' });
    });
    try {
      expect((await request(server.url)).body.toString()).to.equal('streamed');
    } finally {
      await server.close();
    }
  });

  it("accepts the production rules with backend 'stream' and streams every file they match", async () => {
    const { dir, cleanup } = await tempTree({ 'a.txt': 'from disk' });
    const storage = new FileSystemStorage({ location: dir, baseUrl: '/media/' });
    const rules = [
      { sourceUrl: '/media/', destinationUrl: '/protected/' },
      { sourceDir: dir, destinationDir: dir },
    ];
    const server = await serve(downloadview({ backend: 'stream', rules }), (ctx) => {
      ctx.body = new StorageFile(storage, 'a.txt');
    });
    try {
      const res = await request(server.url);
      expect(res.status).to.equal(200);
      expect(res.body.toString()).to.equal('from disk');
      expect(res.headers['x-accel-redirect']).to.equal(undefined);
      expect(res.headers['x-sendfile']).to.equal(undefined);
    } finally {
      await server.close();
      await cleanup();
    }
  });

  it("still checks the rules given with backend 'stream', naming the faulty one", () => {
    const rules = [{ sourceUrl: '/media/', destinationUrl: '/p/' }, { destinationUrl: '/p/' }];
    expect(() => downloadview({ backend: 'stream', rules })).to.throw(
      TypeError,
      /rule #2 needs exactly one of "sourceUrl" or "sourceDir"/,
    );
    expect(() => downloadview({ rules: [{ sourceUrl: '/media/' }] })).to.throw(
      TypeError,
      /rule #1 needs "destinationUrl" \(nginx, Caddy\) or "destinationDir"/,
    );
  });

  it('passes maxRanges to the streaming fallback', async () => {
    const server = await serve(downloadview({ maxRanges: 1 }), (ctx) => {
      ctx.body = new VirtualFile('0123456789', { name: 'a.txt' });
    });
    try {
      const res = await request(server.url, { headers: { Range: 'bytes=0-0,5-5' } });
      expect(res.status).to.equal(200);
    } finally {
      await server.close();
    }
  });

  const mistakes: [string, () => unknown, RegExp][] = [
    [
      'an unknown backend name',
      () => downloadview({ backend: 'nginks' as never }),
      /unknown backend "nginks"/,
    ],
    ['a backend without deliver()', () => downloadview({ backend: {} as never }), /backend/],
    ['rules that are not an array', () => downloadview({ rules: {} as never }), /rules/],
    ['a maxRanges of 0', () => downloadview({ maxRanges: 0 }), /maxRanges/],
    ['an unknown etag mode', () => downloadview({ etag: 'md5' as never }), /etag/],
  ];
  for (const [what, make, message] of mistakes) {
    it(`throws at start-up for ${what}`, () => {
      expect(make).to.throw(TypeError, message);
    });
  }

  describe("etag: 'content'", () => {
    it('sends a hash of the bytes as a strong ETag, the same for the same bytes', async () => {
      const server = await serve(downloadview({ etag: 'content' }), (ctx) => {
        ctx.body = new VirtualFile(ctx.path === '/a' ? 'same' : 'different', { name: 'a.txt' });
      });
      try {
        const [a1, a2, b] = await Promise.all(
          ['/a', '/a', '/b'].map((p) => request(server.url + p)),
        );
        expect(a1!.headers['etag']).to.match(/^"[A-Za-z0-9_-]{43}"$/);
        expect(a1!.headers['etag']).to.equal(a2!.headers['etag']);
        expect(a1!.headers['etag']).to.not.equal(b!.headers['etag']);
      } finally {
        await server.close();
      }
    });
  });
});

describe('security: a status the route set beside its file', () => {
  for (const status of [403, 404, 401, 500, 302, 304, 100]) {
    it(`${status} with a DownloadFile body fails closed: 500, no byte of the file, one error naming the mistake`, async () => {
      const server = await serve(downloadview(), (ctx) => {
        ctx.status = status;
        ctx.body = new VirtualFile('secret bytes', { name: 'x.txt' });
      });
      try {
        const res = await request(server.url);
        expect(res.status).to.equal(500);
        expect(res.body.toString()).not.to.contain('secret');
        // node:http2 refuses an informational status as soon as the route sets it, before
        // downloadview() sees the response: still a 500 without the file.
        const informationalOverHttp2 = TRANSPORT === 'h2' && status < 200;
        expect(server.errors.map((e) => e.message)).to.deep.equal([
          informationalOverHttp2
            ? 'Informational status codes cannot be used'
            : `a route set status ${status} and a DownloadFile body: downloadview() sends files only with 200; refuse with ctx.throw(${status}) instead of setting a body`,
        ]);
      } finally {
        await server.close();
      }
    });
  }

  it('a success status (201) is answered as 200 with the file', async () => {
    const server = await serve(downloadview(), (ctx) => {
      ctx.status = 201;
      ctx.body = new VirtualFile('made', { name: 'x.txt' });
    });
    try {
      const res = await request(server.url);
      expect([res.status, res.body.toString()]).to.deep.equal([200, 'made']);
    } finally {
      await server.close();
    }
  });
});

describe('edges: option values checked at set-up, not per request', () => {
  const storage = new MemoryStorage();
  const cases: [string, () => unknown, RegExp][] = [
    [
      "storageDownload({ dotfiles: 'ignore' })",
      () => storageDownload({ storage, dotfiles: 'ignore' as never }),
      /storageDownload option "dotfiles" must be 'deny' or 'allow'/,
    ],
    [
      'pathDownload({ dotfiles: false })',
      () => pathDownload({ root: '/srv', dotfiles: false as never }),
      /pathDownload option "dotfiles"/,
    ],
    [
      "trustedProxies with backend 'stream'",
      () => downloadview({ trustedProxies: ['127.0.0.1'] }),
      /"trustedProxies" is read only with backend: 'auto'/,
    ],
  ];
  for (const [what, make, message] of cases) {
    it(`throws for ${what}`, () => {
      expect(make).to.throw(TypeError, message);
    });
  }
});
