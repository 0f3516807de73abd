import { expect } from 'chai';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { downloadview, StorageFile, storageDownload } from '../src/index.ts';
import { MemoryStorage } from '../storages/memory.ts';
import { request, type RawResponse } from './support/http.ts';
import { serve, type TestServer } from './support/koa.ts';

const CSV = Buffer.from('id,name\n'.repeat(500));
const BR = brotliCompressSync(CSV);
const GZ = gzipSync(CSV);

describe('precompressed variants (option precompressed)', () => {
  let server: TestServer;
  const storage = new MemoryStorage({
    files: {
      'report.csv': CSV,
      'report.csv.br': BR,
      'report.csv.gz': GZ,
      'only-gz.csv': CSV,
      'only-gz.csv.gz': GZ,
      'plain.csv': CSV,
    },
  });

  before(async () => {
    server = await serve(
      downloadview(),
      storageDownload({ storage, path: (ctx) => ctx.path.slice(1), precompressed: ['br', 'gzip'] }),
    );
  });
  after(() => server?.close());

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    request(server.url + path, { method, headers });
  const representation = (res: RawResponse) => ({
    status: res.status,
    encoding: res.headers['content-encoding'],
    vary: res.headers['vary'],
    type: res.headers['content-type'],
    disposition: res.headers['content-disposition'],
  });

  const chosen: [string, string | undefined, string | undefined, Buffer][] = [
    ['br', 'br', 'br', BR],
    ['gzip, deflate, br', 'br', 'br', BR],
    ['gzip', 'gzip', 'gzip', GZ],
    ['br;q=0, gzip', 'gzip', 'gzip', GZ],
    ['*', 'br', 'br', BR],
    ['identity', undefined, undefined, CSV],
    ['deflate', undefined, undefined, CSV],
  ];
  for (const [accept, label, encoding, bytes] of chosen) {
    it(`Accept-Encoding: ${accept} → ${label ?? 'the original'}, named report.csv, typed text/csv, Vary set`, async () => {
      const res = await get('/report.csv', { 'Accept-Encoding': accept });
      expect(representation(res)).to.deep.equal({
        status: 200,
        encoding,
        vary: 'Accept-Encoding',
        type: 'text/csv; charset=utf-8',
        disposition: 'attachment; filename="report.csv"',
      });
      expect(res.body.equals(bytes)).to.equal(true);
      expect(res.headers['content-length']).to.equal(String(bytes.length));
    });
  }

  it('no Accept-Encoding → the original (identity), still with Vary', async () => {
    const res = await get('/report.csv');
    expect([res.headers['content-encoding'], res.headers['vary']]).to.deep.equal([
      undefined,
      'Accept-Encoding',
    ]);
    expect(res.body.equals(CSV)).to.equal(true);
  });

  it('decodes to the original bytes (br and gzip)', async () => {
    const br = await get('/report.csv', { 'Accept-Encoding': 'br' });
    const gz = await get('/report.csv', { 'Accept-Encoding': 'gzip' });
    expect(brotliDecompressSync(br.body).equals(CSV)).to.equal(true);
    expect(gunzipSync(gz.body).equals(CSV)).to.equal(true);
  });

  it('falls back to the next encoding, then the original, when a sibling is missing', async () => {
    const res = await get('/only-gz.csv', { 'Accept-Encoding': 'br, gzip' });
    expect(res.headers['content-encoding']).to.equal('gzip');
    const none = await get('/plain.csv', { 'Accept-Encoding': 'br, gzip' });
    expect([none.headers['content-encoding'], none.body.equals(CSV)]).to.deep.equal([
      undefined,
      true,
    ]);
  });

  it('each variant has its own ETag', async () => {
    const tags = await Promise.all(
      ['br', 'gzip', 'identity'].map(async (accept) => {
        const res = await get('/report.csv', { 'Accept-Encoding': accept });
        return res.headers['etag'];
      }),
    );
    expect(new Set(tags).size).to.equal(3);
  });

  it('a range applies to the bytes sent: 206 over the br variant, still labelled br', async () => {
    const res = await get('/report.csv', { 'Accept-Encoding': 'br', Range: 'bytes=2-9' });
    expect(res.status).to.equal(206);
    expect(res.headers['content-encoding']).to.equal('br');
    expect(res.headers['content-range']).to.equal(`bytes 2-9/${BR.length}`);
    expect(res.body.equals(BR.subarray(2, 10))).to.equal(true);
  });

  it('security: a resume whose If-Range holds the identity ETag never splices br bytes (200, whole br body)', async () => {
    const identity = await get('/report.csv', { 'Accept-Encoding': 'identity' });
    const res = await get('/report.csv', {
      'Accept-Encoding': 'br',
      Range: 'bytes=100-',
      'If-Range': String(identity.headers['etag']),
    });
    expect(res.status).to.equal(200);
    expect(res.body.equals(BR)).to.equal(true);
  });

  for (const [held, asked] of [
    ['gzip', 'identity'],
    ['identity', 'br'],
    ['br', 'br'],
  ] as const) {
    it(`security: a resume by date (If-Range: <Last-Modified>) never splices: held ${held}, asking ${asked} → 200 whole`, async () => {
      const first = await get('/report.csv', { 'Accept-Encoding': held });
      const res = await get('/report.csv', {
        'Accept-Encoding': asked,
        Range: 'bytes=100-',
        'If-Range': String(first.headers['last-modified']),
      });
      const whole = { identity: CSV, br: BR, gzip: GZ }[asked]!;
      expect([res.status, res.body.equals(whole)]).to.deep.equal([200, true]);
    });
  }

  it('a range without If-Range on a precompressed route is still served (206)', async () => {
    const res = await get('/report.csv', { 'Accept-Encoding': 'identity', Range: 'bytes=0-4' });
    expect([res.status, res.body.toString()]).to.deep.equal([206, CSV.subarray(0, 5).toString()]);
  });

  it('If-None-Match with the variant ETag → 304 with Vary and Content-Encoding', async () => {
    const first = await get('/report.csv', { 'Accept-Encoding': 'br' });
    const res = await get('/report.csv', {
      'Accept-Encoding': 'br',
      'If-None-Match': String(first.headers['etag']),
    });
    expect([res.status, res.headers['vary'], res.headers['etag']]).to.deep.equal([
      304,
      'Accept-Encoding',
      first.headers['etag'],
    ]);
  });

  it('HEAD says what GET sends: the same encoding and length', async () => {
    const head = await get('/report.csv', { 'Accept-Encoding': 'gzip' }, 'HEAD');
    expect([
      head.status,
      head.headers['content-encoding'],
      head.headers['content-length'],
    ]).to.deep.equal([200, 'gzip', String(GZ.length)]);
  });

  it('a missing original with no variant is 404, and a dotfile sibling is never probed', async () => {
    expect((await get('/missing.csv', { 'Accept-Encoding': 'br' })).status).to.equal(404);
    expect((await get('/.env', { 'Accept-Encoding': 'br' })).status).to.equal(404);
  });

  const refused: unknown[] = [['deflate'], ['br', 'br'], 'br', [1]];
  for (const value of refused) {
    it(`refuses precompressed: ${JSON.stringify(value)} at set-up`, () => {
      expect(() => new StorageFile(storage, 'a.csv', { precompressed: value as never })).to.throw(
        TypeError,
        /"precompressed" must list distinct encodings among br, gzip, zstd/,
      );
      expect(() => storageDownload({ storage, precompressed: value as never })).to.throw(
        TypeError,
        /"precompressed"/,
      );
    });
  }

  it('the apache backend streams a variant (mod_xsendfile drops Content-Encoding), offloads the original', async () => {
    const app = await serve(
      downloadview({ backend: 'apache', rules: [{ sourceUrl: '/m/', destinationDir: '/srv/m' }] }),
      storageDownload({
        storage: new MemoryStorage({ baseUrl: '/m/', files: { 'r.csv': CSV, 'r.csv.br': BR } }),
        path: 'r.csv',
        precompressed: ['br'],
      }),
    );
    try {
      const br = await request(app.url + '/', { headers: { 'Accept-Encoding': 'br' } });
      expect([
        br.headers['x-sendfile'],
        br.headers['content-encoding'],
        br.body.equals(BR),
      ]).to.deep.equal([undefined, 'br', true]);
      const plain = await request(app.url + '/', { headers: { 'Accept-Encoding': 'identity' } });
      expect(plain.headers['x-sendfile']).to.equal('/srv/m/r.csv');
    } finally {
      await app.close();
    }
  });

  it('the redirect backend streams a variant (a storage URL cannot label its encoding)', async () => {
    const withUrls = new MemoryStorage({
      baseUrl: 'https://cdn.example/',
      files: { 'r.csv': CSV, 'r.csv.br': BR },
    });
    const app = await serve(
      downloadview({ backend: 'redirect' }),
      storageDownload({ storage: withUrls, path: 'r.csv', precompressed: ['br'] }),
    );
    try {
      const br = await request(app.url + '/', { headers: { 'Accept-Encoding': 'br' } });
      expect([br.status, br.headers['content-encoding'], br.body.equals(BR)]).to.deep.equal([
        200,
        'br',
        true,
      ]);
      const plain = await request(app.url + '/');
      expect([plain.status, plain.headers['location']]).to.deep.equal([
        302,
        'https://cdn.example/r.csv',
      ]);
    } finally {
      await app.close();
    }
  });
});
