import { PutObjectCommand } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import {
  downloadview,
  encodeNameForUrl,
  redirect,
  StorageChangedError,
  StorageFile,
} from '../../src/index.ts';
import { formatContentDisposition } from '../../src/http/disposition.ts';
import { describeStorageContract } from '../../src/testing/storage-contract.ts';
import { S3Storage } from '../../storages/s3.ts';
import { request } from '../support/http.ts';
import { serve } from '../support/koa.ts';
import {
  countingProxy,
  freePort,
  s3Client,
  startS3Server,
  type S3TestServer,
} from '../../support/s3-server.ts';

/** Tests run against s3rver, a real S3-protocol server over HTTP (it checks no signatures). */
describe('S3Storage against a real S3-protocol server (s3rver)', function () {
  let s3: S3TestServer;
  before(async () => {
    s3 = await startS3Server();
  });
  after(() => s3?.stop());

  const storageUnder = (prefix = `${randomUUID()}/`, options: { baseUrl?: string } = {}) =>
    new S3Storage({ client: s3.client(), bucket: s3.bucket, prefix, ...options });

  describeStorageContract('S3Storage', async (fixtures) => {
    const storage = storageUnder();
    for (const [name, bytes] of Object.entries(fixtures)) await storage.save(name, bytes);
    return storage;
  });

  async function collect(stream: Readable): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  it('reports size, mtime, the strong ETag and the content type from HeadObject', async () => {
    const storage = storageUnder('meta/');
    await s3.client().send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: 'meta/a.csv',
        Body: 'a,b\n',
        ContentType: 'text/csv',
      }),
    );
    const stat = await storage.stat('a.csv');
    expect(stat.size).to.equal(4);
    expect(stat.etag).to.match(/^"[0-9a-f]{32}"$/);
    expect(stat.contentType).to.equal('text/csv');
    expect(stat.modified).to.be.instanceOf(Date);
  });

  it('reads bytes=0-99 of an 8 MiB object while about 100 bytes leave the server', async () => {
    const big = randomBytes(8 * 1024 * 1024);
    await storageUnder('big/').save('big.bin', big);
    const proxy = await countingProxy(s3.port);
    try {
      const counted = new S3Storage({
        client: s3Client(`http://127.0.0.1:${proxy.port}`),
        bucket: s3.bucket,
        prefix: 'big/',
      });
      proxy.reset();
      const bytes = await collect(await counted.open('big.bin', { start: 0, end: 99 }));
      expect(bytes.equals(big.subarray(0, 100))).to.equal(true);
      // 100 bytes of body plus the response headers; far from the 8 MiB object.
      expect(proxy.bytesFromServer()).to.be.within(100, 4096);
    } finally {
      await proxy.close();
    }
  });

  it('presigns GET URLs that a plain HTTP client can fetch, whole and ranged', async () => {
    const storage = storageUnder('signed/');
    await storage.save('dir/my file é.txt', '0123456789');
    const url = await storage.url('dir/my file é.txt');
    expect(url).to.contain('X-Amz-Signature=');
    expect(await (await fetch(url)).text()).to.equal('0123456789');
    const ranged = await fetch(url, { headers: { Range: 'bytes=2-4' } });
    expect([ranged.status, await ranged.text()]).to.deep.equal([206, '234']);
  });

  it('presigns a Content-Disposition that survives a non-ASCII name', async () => {
    const storage = storageUnder('signed/');
    await storage.save('r.txt', 'x');
    const url = await storage.presignedUrl('r.txt', {
      contentDisposition: formatContentDisposition('résumé.txt', true),
      contentType: 'text/plain',
    });
    const res = await fetch(url);
    expect(res.headers.get('content-disposition')).to.contain(
      "filename*=UTF-8''r%C3%A9sum%C3%A9.txt",
    );
    expect(res.headers.get('content-type')).to.equal('text/plain');
  });

  it('builds public URLs from baseUrl instead of presigning', async () => {
    const storage = storageUnder('pub/', { baseUrl: 'https://cdn.test/media/' });
    expect(await storage.url('a b/c.txt')).to.equal('https://cdn.test/media/a%20b/c.txt');
  });

  it('streams an object through downloadview with ranges', async () => {
    const storage = storageUnder('http/');
    await storage.save('a.txt', '0123456789');
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new StorageFile(storage, ctx.path.slice(1));
    });
    try {
      const res = await request(`${server.url}/a.txt`, { headers: { Range: 'bytes=-3' } });
      expect([res.status, res.body.toString(), res.headers['content-range']]).to.deep.equal([
        206,
        '789',
        'bytes 7-9/10',
      ]);
      expect((await request(`${server.url}/missing.txt`)).status).to.equal(404);
    } finally {
      await server.close();
    }
  });

  // s3rver keeps each key as a file: under a prefix that holds objects its own filesystem refuses
  // a 300-byte segment (a 500 from s3rver, where S3 answers NoSuchKey), so this prefix holds none.
  it('answers 404 to a name with a 300-byte segment, reporting nothing but the 404', async () => {
    const storage = storageUnder();
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new StorageFile(storage, 'a'.repeat(300));
    });
    try {
      for (const method of ['GET', 'HEAD']) {
        expect((await request(server.url, { method })).status).to.equal(404);
      }
      const statuses = server.errors.map((err) => (err as { status?: number }).status);
      expect(statuses).to.deep.equal([404, 404]);
    } finally {
      await server.close();
    }
  });

  describe('requests made to S3 per download, counted at a relay in front of s3rver', () => {
    const small = randomBytes(1000);
    const big = randomBytes(200 * 1024);
    let proxy: Awaited<ReturnType<typeof countingProxy>>;
    let server: Awaited<ReturnType<typeof serve>>;
    let etag: string | undefined;
    before(async () => {
      const seeded = storageUnder('counted/');
      await seeded.save('small.bin', small);
      await seeded.save('big.bin', big);
      etag = (await seeded.stat('small.bin')).etag;
      proxy = await countingProxy(s3.port);
      const storage = new S3Storage({
        client: s3Client(`http://127.0.0.1:${proxy.port}`),
        bucket: s3.bucket,
        prefix: 'counted/',
      });
      server = await serve(downloadview(), (ctx) => {
        ctx.body = new StorageFile(storage, decodeURIComponent(ctx.path.slice(1)));
      });
    });
    after(async () => {
      await server?.close();
      await proxy?.close();
    });
    beforeEach(() => proxy.reset());

    const object = (name: string) => `/${s3.bucket}/counted/${name}`;
    /** Errors the app reported other than a 404 (Koa emits every thrown error, 404s included). */
    const reported = () =>
      server.errors.filter((err) => (err as { status?: number }).status !== 404);

    for (const [name, bytes] of [
      ['small.bin', small],
      ['big.bin', big],
    ] as const) {
      it(`a plain GET of ${name} is one GetObject, metadata and bytes from its answer`, async () => {
        const res = await request(`${server.url}/${name}`);
        expect(res.status).to.equal(200);
        expect(res.body.equals(bytes)).to.equal(true);
        expect(res.headers['etag']).to.match(/^"[0-9a-f]{32}"$/);
        expect(proxy.requests()).to.deep.equal([`GET ${object(name)}?x-id=GetObject`]);
      });
    }

    it('a ranged GET is HeadObject, then a GetObject of those bytes only', async () => {
      const res = await request(`${server.url}/big.bin`, { headers: { Range: 'bytes=10-19' } });
      expect([res.status, res.body.equals(big.subarray(10, 20))]).to.deep.equal([206, true]);
      expect(proxy.requests()).to.deep.equal([
        `HEAD ${object('big.bin')}`,
        `GET ${object('big.bin')}?x-id=GetObject`,
      ]);
      expect(proxy.bytesFromServer()).to.be.below(4096);
    });

    it('a revalidation that matches is HeadObject alone, answered 304', async () => {
      const res = await request(`${server.url}/small.bin`, { headers: { 'If-None-Match': etag! } });
      expect(res.status).to.equal(304);
      expect(proxy.requests()).to.deep.equal([`HEAD ${object('small.bin')}`]);
    });

    it('HEAD is HeadObject alone', async () => {
      const res = await request(`${server.url}/big.bin`, { method: 'HEAD' });
      expect([res.status, res.headers['content-length']]).to.deep.equal([200, String(big.length)]);
      expect(proxy.requests()).to.deep.equal([`HEAD ${object('big.bin')}`]);
    });

    it('a missing object is one GetObject answered 404', async () => {
      expect((await request(`${server.url}/absent.bin`)).status).to.equal(404);
      expect(proxy.requests()).to.deep.equal([`GET ${object('absent.bin')}?x-id=GetObject`]);
    });

    // S3 keys are at most 1024 bytes of UTF-8, prefix included ("counted/" is 8 of them).
    const tooLong: [string, string][] = [
      ['1017 ASCII bytes', 'a'.repeat(1017)],
      ['510 characters and 1020 bytes of UTF-8', 'é'.repeat(510)],
      ['nested segments of 1100 bytes', 'ab/'.repeat(366) + 'xy'],
    ];
    for (const [what, name] of tooLong) {
      it(`a key over 1024 bytes (${what} after the prefix) is 404 without a request`, async () => {
        for (const method of ['GET', 'HEAD']) {
          const res = await request(`${server.url}/${encodeNameForUrl(name)}`, { method });
          expect(res.status).to.equal(404);
        }
        expect(proxy.requests()).to.deep.equal([]);
        expect(reported()).to.deep.equal([]);
      });
    }

    it('a key of exactly 1024 bytes is asked of the server', async () => {
      const storage = new S3Storage({
        client: s3Client(`http://127.0.0.1:${proxy.port}`),
        bucket: s3.bucket,
        prefix: 'counted/',
      });
      // s3rver itself cannot store a key this long; what matters is that it was asked.
      await storage.stat('a'.repeat(1016)).catch(() => undefined);
      expect(proxy.requests()).to.have.length(1);
    });
  });

  it('redirects to a presigned URL with the redirect backend', async () => {
    const storage = storageUnder('redirect/');
    await storage.save('a.txt', 'via redirect');
    const server = await serve(downloadview({ backend: redirect() }), (ctx) => {
      ctx.body = new StorageFile(storage, 'a.txt');
    });
    try {
      const res = await request(server.url);
      expect(res.status).to.equal(302);
      expect(await (await fetch(res.headers['location']!)).text()).to.equal('via redirect');
    } finally {
      await server.close();
    }
  });

  it("edges: the redirected download keeps the route's name and type, signed into the URL", async () => {
    const storage = storageUnder('redirect/');
    await storage.save('report.bin', 'id,total\n');
    const server = await serve(downloadview({ backend: redirect() }), (ctx) => {
      ctx.body = new StorageFile(storage, 'report.bin', {
        filename: 'Relevé 2026.csv',
        contentType: 'text/csv; charset=utf-8',
      });
    });
    try {
      const res = await request(server.url);
      expect(res.status).to.equal(302);
      const followed = await fetch(res.headers['location']!);
      expect(await followed.text()).to.equal('id,total\n');
      expect(followed.headers.get('content-disposition')).to.equal(
        formatContentDisposition('Relevé 2026.csv', true),
      );
      expect(followed.headers.get('content-type')).to.equal('text/csv; charset=utf-8');
    } finally {
      await server.close();
    }
  });

  it('edges: the redirect backend answers 404 for a missing object, never a URL to nothing', async () => {
    const storage = storageUnder('redirect/');
    const server = await serve(downloadview({ backend: redirect() }), (ctx) => {
      ctx.body = new StorageFile(storage, 'missing.bin');
    });
    try {
      const res = await request(server.url);
      expect([res.status, res.headers['location']]).to.deep.equal([404, undefined]);
    } finally {
      await server.close();
    }
  });

  it('maps a stopped server to ERR_STORAGE_UNAVAILABLE, promptly', async () => {
    const storage = new S3Storage({
      client: s3Client(`http://127.0.0.1:${await freePort()}`, 1000),
      bucket: s3.bucket,
    });
    let code: unknown;
    await storage.stat('a.txt').catch((err: { code: unknown }) => (code = err.code));
    expect(code).to.equal('ERR_STORAGE_UNAVAILABLE');
  });

  it('errors the stream, never ends it quietly, when the server dies mid-stream', async () => {
    const doomed = await startS3Server('doomed');
    try {
      const storage = new S3Storage({ client: doomed.client(), bucket: 'doomed' });
      await storage.save('big.bin', randomBytes(32 * 1024 * 1024));
      const stream = await storage.open('big.bin');
      const outcome = new Promise<string>((resolve) => {
        stream.once('end', () => resolve('end'));
        stream.once('error', () => resolve('error'));
      });
      stream.once('data', () => void doomed.stop());
      stream.resume();
      expect(await outcome).to.equal('error');
    } finally {
      await doomed.stop();
    }
  });

  it('reads a pinned range (If-Match of the current ETag) from the real server', async () => {
    const storage = storageUnder();
    await storage.save('pinned.txt', 'pinned bytes');
    const { etag } = await storage.stat('pinned.txt');
    const range = { start: 7, end: 11 };
    const read = await collect(await storage.open('pinned.txt', range, { ifMatch: etag }));
    expect(read.toString()).to.equal('bytes');
  });

  // s3rver ignores If-Match (it answers 200 to a stale one), so S3's 412 comes from a stand-in
  // HTTP server answering as S3 documents it.
  it("sends If-Match on the pinned GetObject and maps S3's 412 to ERR_STORAGE_CHANGED", async () => {
    const seen: (string | undefined)[] = [];
    const standIn = createServer((req, res) => {
      seen.push(req.headers['if-match']);
      res.writeHead(412, { 'Content-Type': 'application/xml' });
      res.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code>' +
          '<Message>At least one of the pre-conditions you specified did not hold</Message>' +
          '<Condition>If-Match</Condition></Error>',
      );
    });
    await new Promise<void>((resolve) => standIn.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = standIn.address() as AddressInfo;
      const client = s3Client(`http://127.0.0.1:${port}`);
      const storage = new S3Storage({ client, bucket: 'b' });
      const failure = await storage.open('a.txt', { start: 0, end: 9 }, { ifMatch: '"v1"' }).then(
        () => undefined,
        (err: unknown) => err,
      );
      expect(failure).to.be.instanceOf(StorageChangedError);
      expect((failure as StorageChangedError).code).to.equal('ERR_STORAGE_CHANGED');
      expect(seen).to.deep.equal(['"v1"']);
    } finally {
      standIn.closeAllConnections();
      await new Promise((resolve) => standIn.close(resolve));
    }
  });

  it('aborts the client and reports through app.emit when the server dies mid-download', async () => {
    const doomed = await startS3Server('doomed-http');
    const storage = new S3Storage({ client: doomed.client(), bucket: 'doomed-http' });
    const size = 64 * 1024 * 1024;
    await storage.save('big.bin', randomBytes(size));
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new StorageFile(storage, 'big.bin');
    });
    try {
      const res = await new Promise<{ status: number; received: number; complete: boolean }>(
        (resolve, reject) => {
          const req = httpRequest(server.url, (response) => {
            let received = 0;
            response.on('data', (chunk: Buffer) => {
              if (received === 0) void doomed.stop();
              received += chunk.length;
            });
            response.on('error', () => undefined);
            response.on('close', () =>
              resolve({ status: response.statusCode ?? 0, received, complete: response.complete }),
            );
          });
          req.on('error', reject);
          req.end();
        },
      );
      expect(res.status).to.equal(200);
      expect(res.complete).to.equal(false);
      expect(res.received).to.be.below(size);
      // The report may follow the client's close by a tick or two.
      for (let waited = 0; server.errors.length === 0 && waited < 2000; waited += 10) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(server.errors).to.have.length(1);
    } finally {
      await server.close();
      await doomed.stop();
    }
  });

  it('throws a TypeError naming an unknown option and the known ones', () => {
    const client = s3Client('http://127.0.0.1:1');
    expect(() => new S3Storage({ client, bucket: 'b', Bucket: 'c' } as never)).to.throw(
      TypeError,
      /S3Storage: unknown option "Bucket"; known options: client, bucket, prefix, baseUrl, urlExpiresIn/,
    );
  });

  it('rejects presignedUrl options it does not know with a TypeError naming them', async () => {
    const storage = new S3Storage({ client: s3Client('http://127.0.0.1:1'), bucket: 'b' });
    const err = await storage.presignedUrl('a.txt', { expires: 60 } as never).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).to.be.instanceOf(TypeError);
    expect((err as Error).message).to.match(
      /S3Storage.presignedUrl: unknown option "expires"; known options: expiresIn, contentDisposition, contentType/,
    );
  });

  const invalid: [string, object][] = [
    ['no client', { bucket: 'b' }],
    ['no bucket', { client: {} }],
    ['an expiry of 0', { bucket: 'b', urlExpiresIn: 0 }],
  ];
  for (const [what, options] of invalid) {
    it(`refuses ${what} with a TypeError naming the option`, () => {
      const withClient = { client: s3Client('http://127.0.0.1:1'), ...options };
      expect(
        () => new S3Storage(what === 'no client' ? (options as never) : (withClient as never)),
      ).to.throw(TypeError, /S3Storage option/);
    });
  }
});
