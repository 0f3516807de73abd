import { expect } from 'chai';
import type { Context } from 'koa';
import { downloadview, StorageFile, streaming } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import {
  countingStorage,
  HELLO,
  randomFile,
  tempTree,
  type CountingStorage,
} from '../support/fixtures.ts';
import { parseMultipart, request } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';

const BIG = randomFile(256 * 1024);

describe('streaming backend', () => {
  let server: TestServer;
  let storage: CountingStorage;
  let cleanup: () => Promise<void>;

  before(async () => {
    const tree = await tempTree({ 'hello.txt': HELLO, 'big.bin': BIG, 'empty.txt': '' });
    cleanup = tree.cleanup;
    storage = countingStorage(new FileSystemStorage({ location: tree.dir }));
    server = await serve(downloadview(), (ctx: Context) => {
      ctx.set('Cache-Control', 'private, max-age=60');
      ctx.set('Vary', 'Cookie');
      ctx.set('Expires', 'Thu, 01 Jan 2037 00:00:00 GMT');
      ctx.set('X-Route', 'kept');
      ctx.body = new StorageFile(storage, decodeURIComponent(ctx.path.slice(1)));
    });
  });
  after(async () => {
    await server.close();
    await cleanup();
  });

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    request(`${server.url}${path}`, { method, headers });

  describe('200', () => {
    it('sends the whole file with length, type, disposition, validators and Accept-Ranges', async () => {
      const res = await get('/hello.txt');
      expect(res.status).to.equal(200);
      expect(res.body.equals(HELLO)).to.equal(true);
      expect(res.headers['content-length']).to.equal('37');
      expect(res.headers['content-type']).to.equal('text/plain; charset=utf-8');
      expect(res.headers['content-disposition']).to.equal('attachment; filename="hello.txt"');
      expect(res.headers['accept-ranges']).to.equal('bytes');
      expect(res.headers['etag']).to.match(/^"[^"]+"$/);
      expect(new Date(res.headers['last-modified']!).getTime()).to.be.greaterThan(0);
    });

    it('keeps the headers the route set', async () => {
      const res = await get('/hello.txt');
      expect(res.headers['cache-control']).to.equal('private, max-age=60');
      expect(res.headers['x-route']).to.equal('kept');
    });

    it('sends a binary file byte for byte without a charset', async () => {
      const res = await get('/big.bin');
      expect(res.body.equals(BIG)).to.equal(true);
      expect(res.headers['content-type']).to.equal('application/octet-stream');
    });

    it('sends an empty file as a 200 with Content-Length 0', async () => {
      const res = await get('/empty.txt');
      expect([res.status, res.headers['content-length'], res.body.length]).to.deep.equal([
        200,
        '0',
        0,
      ]);
    });

    it('answers 404 for a missing file without naming any path', async () => {
      const res = await get('/missing.txt');
      expect(res.status).to.equal(404);
      expect(res.body.toString()).to.equal('Not Found');
    });
  });

  describe('HEAD', () => {
    it('sends the GET headers, no body, and never opens the file', async () => {
      const before = storage.opens;
      const res = await get('/hello.txt', {}, 'HEAD');
      expect(res.status).to.equal(200);
      expect(res.headers['content-length']).to.equal('37');
      expect(res.headers['etag']).to.match(/^"/);
      expect(res.body.length).to.equal(0);
      expect(storage.opens).to.equal(before);
    });

    it('answers a ranged HEAD with the 206 headers and still opens nothing', async () => {
      const before = storage.opens;
      const res = await get('/hello.txt', { Range: 'bytes=0-9' }, 'HEAD');
      expect([
        res.status,
        res.headers['content-range'],
        res.headers['content-length'],
      ]).to.deep.equal([206, 'bytes 0-9/37', '10']);
      expect(storage.opens).to.equal(before);
    });
  });

  describe('Range', () => {
    const single: [string, string, number, number][] = [
      ['bytes=0-9', 'first ten bytes', 0, 9],
      ['bytes=36-36', 'the last byte', 36, 36],
      ['bytes=-5', 'a suffix', 32, 36],
      ['bytes=-100', 'a suffix longer than the file (whole file)', 0, 36],
      ['bytes=30-', 'an open range', 30, 36],
      ['bytes=30-1000', 'an end past the file (clipped)', 30, 36],
      ['bytes=0-4,5-9', 'adjacent ranges (coalesced)', 0, 9],
      ['bytes=0-9,3-5', 'overlapping ranges (coalesced)', 0, 9],
    ];
    for (const [range, what, start, end] of single) {
      it(`answers 206 for ${what}: ${range}`, async () => {
        const res = await get('/hello.txt', { Range: range });
        expect(res.status).to.equal(206);
        expect(res.headers['content-range']).to.equal(`bytes ${start}-${end}/37`);
        expect(res.headers['content-length']).to.equal(String(end - start + 1));
        expect(res.body.equals(HELLO.subarray(start, end + 1))).to.equal(true);
      });
    }

    it('answers multipart/byteranges for distinct ranges, with an exact Content-Length', async () => {
      const res = await get('/big.bin', { Range: 'bytes=0-99,1000-1999,-10' });
      expect(res.status).to.equal(206);
      expect(res.headers['content-type']).to.match(/^multipart\/byteranges; boundary=/);
      expect(Number(res.headers['content-length'])).to.equal(res.body.length);
      const parts = parseMultipart(res.body, res.headers['content-type']!);
      const expected: [number, number][] = [
        [0, 99],
        [1000, 1999],
        [BIG.length - 10, BIG.length - 1],
      ];
      expect(parts).to.have.length(3);
      parts.forEach((part, i) => {
        const [start, end] = expected[i]!;
        expect(part.headers['content-range']).to.equal(`bytes ${start}-${end}/${BIG.length}`);
        expect(part.headers['content-type']).to.equal('application/octet-stream');
        expect(part.body.equals(BIG.subarray(start, end + 1))).to.equal(true);
      });
    });

    it('answers 200 with the whole file above the range cap (16 ranges)', async () => {
      const many = Array.from({ length: 17 }, (_, i) => `${i * 2}-${i * 2}`).join(',');
      const res = await get('/hello.txt', { Range: `bytes=${many}` });
      expect(res.status).to.equal(200);
      expect(res.body.equals(HELLO)).to.equal(true);
    });

    for (const range of ['bytes=37-', 'bytes=100-200', 'bytes=-0']) {
      it(`answers 416 with Content-Range */size for an unsatisfiable range: ${range}`, async () => {
        const res = await get('/hello.txt', { Range: range });
        expect(res.status).to.equal(416);
        expect(res.headers['content-range']).to.equal('bytes */37');
      });
    }

    for (const range of ['bytes=abc', 'bytes=5-3', 'items=0-1', 'bytes=', 'bytes=0-1;x', '0-9']) {
      it(`ignores a malformed Range header (200): ${range}`, async () => {
        const res = await get('/hello.txt', { Range: range });
        expect(res.status).to.equal(200);
        expect(res.body.equals(HELLO)).to.equal(true);
      });
    }

    it('reads only the requested bytes from the storage', async () => {
      const before = storage.opens;
      const res = await get('/big.bin', { Range: 'bytes=-16' });
      expect(res.body.equals(BIG.subarray(-16))).to.equal(true);
      expect(storage.opens - before).to.equal(1);
    });
  });

  describe('If-Range', () => {
    it('serves the range when the strong ETag matches', async () => {
      const { headers } = await get('/hello.txt', {}, 'HEAD');
      const res = await get('/hello.txt', { Range: 'bytes=0-0', 'If-Range': headers['etag']! });
      expect([res.status, res.body.toString()]).to.deep.equal([206, '0']);
    });

    it('serves the range when the date equals Last-Modified', async () => {
      const { headers } = await get('/hello.txt', {}, 'HEAD');
      const res = await get('/hello.txt', {
        Range: 'bytes=0-0',
        'If-Range': headers['last-modified']!,
      });
      expect(res.status).to.equal(206);
    });

    const stale: [string, (etag: string, lastModified: string) => string][] = [
      ['another ETag', () => '"other"'],
      ['the same ETag marked weak (weak never matches)', (etag) => `W/${etag}`],
      ['a later date', (_e, lm) => new Date(Date.parse(lm) + 60_000).toUTCString()],
      ['an earlier date', (_e, lm) => new Date(Date.parse(lm) - 60_000).toUTCString()],
      ['garbage', () => 'not a validator'],
    ];
    for (const [what, make] of stale) {
      it(`serves the whole file (200) for ${what}`, async () => {
        const { headers } = await get('/hello.txt', {}, 'HEAD');
        const ifRange = make(headers['etag']!, headers['last-modified']!);
        const res = await get('/hello.txt', { Range: 'bytes=0-0', 'If-Range': ifRange });
        expect(res.status).to.equal(200);
        expect(res.body.equals(HELLO)).to.equal(true);
      });
    }
  });

  describe('conditional requests', () => {
    let etag: string;
    let lastModified: string;
    before(async () => {
      const { headers } = await get('/hello.txt', {}, 'HEAD');
      etag = headers['etag']!;
      lastModified = headers['last-modified']!;
    });

    it('answers 304 to a matching If-None-Match, keeping validators and caching headers', async () => {
      const res = await get('/hello.txt', { 'If-None-Match': `"x", ${etag}` });
      expect(res.status).to.equal(304);
      expect(res.body.length).to.equal(0);
      expect(res.headers['etag']).to.equal(etag);
      expect(res.headers['last-modified']).to.equal(lastModified);
      expect(res.headers['cache-control']).to.equal('private, max-age=60');
      expect(res.headers['vary']).to.equal('Cookie');
      expect(res.headers['expires']).to.equal('Thu, 01 Jan 2037 00:00:00 GMT');
    });

    it('compares If-None-Match weakly (W/ matches)', async () => {
      expect((await get('/hello.txt', { 'If-None-Match': `W/${etag}` })).status).to.equal(304);
    });

    it('answers 304 to If-Modified-Since at or after Last-Modified', async () => {
      expect((await get('/hello.txt', { 'If-Modified-Since': lastModified })).status).to.equal(304);
    });

    it('ignores If-Modified-Since when If-None-Match is present and does not match', async () => {
      const res = await get('/hello.txt', {
        'If-None-Match': '"x"',
        'If-Modified-Since': lastModified,
      });
      expect(res.status).to.equal(200);
    });

    it('answers 412 to If-Match that does not match', async () => {
      expect((await get('/hello.txt', { 'If-Match': '"other"' })).status).to.equal(412);
    });

    it('compares If-Match strongly (a weak tag fails)', async () => {
      expect((await get('/hello.txt', { 'If-Match': `W/${etag}` })).status).to.equal(412);
    });

    it('serves the file for a matching If-Match and for If-Match: *', async () => {
      expect((await get('/hello.txt', { 'If-Match': etag })).status).to.equal(200);
      expect((await get('/hello.txt', { 'If-Match': '*' })).status).to.equal(200);
    });

    it('answers 412 to If-Unmodified-Since before Last-Modified', async () => {
      const res = await get('/hello.txt', {
        'If-Unmodified-Since': 'Sat, 01 Jan 2000 00:00:00 GMT',
      });
      expect(res.status).to.equal(412);
    });

    it('ignores If-Unmodified-Since when If-Match is present (RFC 9110 §13.2.2)', async () => {
      const res = await get('/hello.txt', {
        'If-Match': etag,
        'If-Unmodified-Since': 'Sat, 01 Jan 2000 00:00:00 GMT',
      });
      expect(res.status).to.equal(200);
    });

    it('evaluates preconditions before Range: If-None-Match wins over an unsatisfiable range', async () => {
      const res = await get('/hello.txt', { 'If-None-Match': etag, Range: 'bytes=500-' });
      expect(res.status).to.equal(304);
    });
  });

  describe('options', () => {
    it('refuses an unknown option, naming it and the known ones', () => {
      expect(() => streaming({ maxRange: 3 } as never)).to.throw(
        TypeError,
        'streaming: unknown option "maxRange"; known options: maxRanges, etag',
      );
    });

    it('accepts the known options, also when undefined (as downloadview() passes them)', () => {
      expect(streaming({ maxRanges: 4, etag: 'content' }).name).to.equal('stream');
      expect(streaming({ maxRanges: undefined, etag: undefined }).name).to.equal('stream');
    });

    it('refuses options that are not an object', () => {
      expect(() => streaming([] as never)).to.throw(
        TypeError,
        'streaming: options must be an object',
      );
    });
  });
});
