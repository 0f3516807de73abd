import Router from '@koa/router';
import { expect } from 'chai';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadview, pathDownload, StorageFile } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { parseMultipart, request } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { tempTree } from '../support/fixtures.ts';

// A 64 GiB sparse file (it takes a few KiB of disk): offsets past 2^32 and 2^36 must come out
// byte-exact, through every place a position is parsed, added or formatted (Range, Content-Range,
// multipart headers, the read position), never wrapped by 32-bit arithmetic or rounded.
const SIZE = 64 * 2 ** 30;
const MARKS: Record<number, Buffer> = {
  [2 ** 32 - 8]: Buffer.from('across 2^32 boundary'),
  [2 ** 36 - 100]: Buffer.from('past 2^36 we are'),
  [SIZE - 16]: Buffer.from('the last 16 byte'),
};

/** The file's bytes in [start, end]: zeros, except where a mark was written. */
function expectedBytes(start: number, end: number): Buffer {
  const bytes = Buffer.alloc(end - start + 1);
  for (const [at, mark] of Object.entries(MARKS)) {
    const offset = Number(at) - start;
    if (offset + mark.length > 0 && offset <= end - start) {
      mark.copy(bytes, Math.max(0, offset), Math.max(0, -offset));
    }
  }
  return bytes;
}

describe('streaming a 64 GiB sparse file: offsets past 2^32 are byte-exact', function () {
  this.timeout(20_000);
  let server: TestServer;
  before(async () => {
    const { dir } = await tempTree({});
    const handle = await open(join(dir, 'huge.bin'), 'w');
    try {
      await handle.truncate(SIZE);
      for (const [at, mark] of Object.entries(MARKS))
        await handle.write(mark, 0, mark.length, Number(at));
    } finally {
      await handle.close();
    }
    const storage = new FileSystemStorage({ location: dir });
    const router = new Router();
    router.get('/storage/huge.bin', (ctx) => {
      ctx.body = new StorageFile(storage, 'huge.bin');
    });
    router.get('/path/*path', pathDownload({ root: dir }));
    server = await serve(downloadview(), router.routes());
  });
  after(() => server?.close());

  for (const route of ['/storage/huge.bin', '/path/huge.bin']) {
    describe(route, () => {
      it('says the whole size on HEAD', async () => {
        const res = await request(server.url + route, { method: 'HEAD' });
        expect(res.status).to.equal(200);
        expect(res.headers['content-length']).to.equal(String(SIZE));
      });

      const ranges: [string, number, number][] = [
        ['across 2^32', 2 ** 32 - 10, 2 ** 32 + 20],
        ['past 2^36', 2 ** 36 - 110, 2 ** 36 - 60],
        ['the suffix bytes=-16', SIZE - 16, SIZE - 1],
        ['an open end at SIZE - 20', SIZE - 20, SIZE - 1],
      ];
      for (const [what, start, end] of ranges) {
        it(`serves ${what} (${start}-${end}) byte for byte`, async () => {
          const header = what.startsWith('the suffix')
            ? 'bytes=-16'
            : what.startsWith('an open end')
              ? `bytes=${start}-`
              : `bytes=${start}-${end}`;
          const res = await request(server.url + route, { headers: { Range: header } });
          expect(res.status).to.equal(206);
          expect(res.headers['content-range']).to.equal(`bytes ${start}-${end}/${SIZE}`);
          expect(res.body.equals(expectedBytes(start, end))).to.equal(true);
        });
      }

      it('serves two ranges past 2^32 as multipart, each part exact', async () => {
        const [a, b] = [2 ** 32 - 8, 2 ** 36 - 100];
        const res = await request(server.url + route, {
          headers: { Range: `bytes=${a}-${a + 19},${b}-${b + 15}` },
        });
        expect(res.status).to.equal(206);
        const parts = parseMultipart(res.body, String(res.headers['content-type']));
        expect(parts.map((p) => p.headers['content-range'])).to.deep.equal([
          `bytes ${a}-${a + 19}/${SIZE}`,
          `bytes ${b}-${b + 15}/${SIZE}`,
        ]);
        expect(parts.map((p) => p.body.toString())).to.deep.equal([
          'across 2^32 boundary',
          'past 2^36 we are',
        ]);
      });

      it('answers 416 to a range that starts at the size, naming the size', async () => {
        const res = await request(server.url + route, { headers: { Range: `bytes=${SIZE}-` } });
        expect(res.status).to.equal(416);
        expect(res.headers['content-range']).to.equal(`bytes */${SIZE}`);
      });
    });
  }
});
