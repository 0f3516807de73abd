import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import Router from '@koa/router';
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { Agent, createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Context, Next } from 'koa';
import { downloadview, storageDownload } from '../../src/index.ts';
import type { ByteRange, OpenOptions } from '../../src/storage.ts';
import { S3Storage } from '../../storages/s3.ts';
import { request as rawRequest } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { s3Client, startS3Server, type S3TestServer } from '../../support/s3-server.ts';
import { requireBinary } from './support/require-binary.ts';
import { startProxy, type RunningProxy } from './support/proxies.ts';

// The library end to end behind real nginx (docs/proxies/nginx.conf): s3rver holds the objects,
// an S3Storage without baseUrl presigns GET URLs, and the nginx backend answers
// `X-Accel-Redirect: /remote/` + `X-Offload-Url: <presigned URL>`, which the internal /remote/
// location proxies to. Every request reaching s3rver passes a recording relay, so the tests see
// who asked S3 for what: the Koa app (through the AWS SDK) or nginx (on behalf of the client).

const PREFIX = 'media/';
/** 5 MiB and a few bytes: large enough that a Koa read would show, odd enough to catch slips. */
const BIG_NAME = 'reports/Quarterly report 2026.bin';
const BIG_SIZE = 5 * 1024 * 1024 + 123;
/** Names holding every character a presigned URL must escape, in a nested "dir/". */
const AWKWARD_NAMES = [
  'dir/my file.txt',
  'dir/100%.txt',
  'dir/50%25.txt',
  'dir/a+b.txt',
  'dir/hash#.txt',
  'dir/q?.txt',
  'dir/отчёт.txt',
  'dir/報告書.txt',
  'dir/sub dir/all 100% a+b #1 ?2 отчёт 報告書.txt',
];
/** An object uploaded by another tool, with its own stored type and disposition. */
const TYPED_NAME = 'typed/Q3 report.pdf';
/** Set by the test's own client; nginx forwards it to S3, the AWS SDK sends its own. */
const CLIENT_AGENT = 'kdv-s3-nginx-test';
const OFFLOAD_HEADERS = ['x-accel-redirect', 'x-offload-url'];

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const md5 = (bytes: Uint8Array) => createHash('md5').update(bytes).digest('hex');
const encodeSegments = (path: string) => path.split('/').map(encodeURIComponent).join('/');
const leakedOffloadHeaders = (res: Response) =>
  OFFLOAD_HEADERS.filter((name) => res.headers.has(name));

/** One request that reached s3rver, as the relay saw it. */
interface S3Request {
  /** `app`: the AWS SDK in the Koa process; `nginx`: the /remote/ location. */
  from: string;
  method: string;
  /** The object key, decoded, without the bucket. */
  key: string;
  range: string | undefined;
  status: number;
  /** Body bytes s3rver sent back. */
  bodyBytes: number;
}

/** A recording HTTP relay in front of s3rver. */
interface S3Spy {
  readonly origin: string;
  /** What reached s3rver since the last reset, in arrival order. */
  requests(): Promise<S3Request[]>;
  /** The raw request targets (path and query, byte for byte) since the last reset. */
  targets(): string[];
  reset(): void;
  close(): Promise<void>;
}

function requester(headers: IncomingHttpHeaders): string {
  const agent = headers['user-agent'] ?? '';
  if (agent.startsWith('aws-sdk-js/')) return 'app';
  if (agent === CLIENT_AGENT) return 'nginx';
  return `unknown (${agent})`;
}

/** The headers without the hop-by-hop ones, which each side of the relay sets itself. */
function endToEnd(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding']);
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !hopByHop.has(name)));
}

async function startS3Spy(targetPort: number, bucket: string): Promise<S3Spy> {
  let seen: { request: S3Request; target: string; done: Promise<void> }[] = [];
  // No keep-alive towards s3rver: no socket outlives the test.
  const agent = new Agent({ keepAlive: false });
  const server: Server = createServer((req, res) => {
    const target = req.url ?? '';
    const path = target.split('?', 1)[0]!;
    const record: S3Request = {
      from: requester(req.headers),
      method: req.method ?? '',
      key: decodeURIComponent(path.slice(`/${bucket}/`.length)),
      range: req.headers.range,
      status: 0,
      bodyBytes: 0,
    };
    const headers = endToEnd(req.headers);
    const done = new Promise<void>((resolve) => {
      const upstream = request(
        { host: '127.0.0.1', port: targetPort, method: req.method, path: target, headers, agent },
        (answer) => {
          record.status = answer.statusCode ?? 0;
          answer.on('data', (chunk: Buffer) => (record.bodyBytes += chunk.length));
          answer.once('close', resolve);
          res.writeHead(record.status, endToEnd(answer.headers));
          answer.pipe(res);
        },
      );
      upstream.once('error', (error) => {
        res.destroy(error);
        resolve();
      });
      req.pipe(upstream);
    });
    seen.push({ request: record, target, done });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests: async () => {
      await Promise.all(seen.map((entry) => entry.done));
      return seen.map((entry) => entry.request);
    },
    targets: () => seen.map((entry) => entry.target),
    reset: () => (seen = []),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The storage the app uses, recording the URLs it hands out and every open(). */
class RecordingS3Storage extends S3Storage {
  readonly urls: string[] = [];
  opens = 0;

  override async url(name: string): Promise<string> {
    const url = await super.url(name);
    this.urls.push(url);
    return url;
  }

  override async open(name: string, range?: ByteRange, options?: OpenOptions): Promise<Readable> {
    this.opens++;
    return super.open(name, range, options);
  }
}

/** A middleware before the route that decides on its own: only auditors may download. */
async function auditorsOnly(ctx: Context, next: Next): Promise<void> {
  if (ctx.get('X-Role') !== 'auditor') ctx.throw(403, 'auditors only');
  await next();
}

describe('S3 (s3rver) behind real nginx: X-Accel-Redirect /remote/ + presigned X-Offload-Url', function () {
  let big: Buffer;
  let typed: Buffer;
  let s3: S3TestServer | undefined;
  let spy: S3Spy | undefined;
  let uploader: S3Client | undefined;
  let appClient: S3Client | undefined;
  let storage: RecordingS3Storage;
  let app: TestServer | undefined;
  let proxy: RunningProxy | undefined;
  let emptyDir: string | undefined;

  /** A GET through nginx, as a browser would send it. */
  const viaNginx = (path: string, headers: Record<string, string> = {}) =>
    fetch(`${proxy!.url}${path}`, { headers: { 'User-Agent': CLIENT_AGENT, ...headers } });
  const objectPath = (name: string) => `/files/${encodeSegments(name)}`;
  const bodyOf = async (res: Response) => Buffer.from(await res.arrayBuffer());

  before(async function () {
    requireBinary(this, 'nginx');
    big = randomBytes(BIG_SIZE);
    typed = randomBytes(4096);
    s3 = await startS3Server();
    spy = await startS3Spy(s3.port, s3.bucket);
    // Objects are uploaded straight to s3rver; only the app and nginx go through the relay.
    uploader = s3.client();
    const direct = new S3Storage({ client: uploader, bucket: s3.bucket, prefix: PREFIX });
    await direct.save(BIG_NAME, big);
    for (const name of AWKWARD_NAMES) await direct.save(name, `bytes of ${name}\n`);
    await uploader.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: PREFIX + TYPED_NAME,
        Body: typed,
        ContentType: 'binary/octet-stream',
        ContentDisposition: 'inline; filename="stored-name.bin"',
      }),
    );
    appClient = s3Client(spy.origin);
    storage = new RecordingS3Storage({ client: appClient, bucket: s3.bucket, prefix: PREFIX });
    const router = new Router();
    router.get('/files/*path', storageDownload({ storage }));
    router.get('/typed/*path', storageDownload({ storage, contentType: 'application/pdf' }));
    router.get('/audit/*path', auditorsOnly, storageDownload({ storage }));
    const rules = [{ sourceUrl: `${spy.origin}/`, destinationUrl: '/remote/' }];
    app = await serve(downloadview({ backend: 'nginx', rules }), router.routes());
    // The /protected/ location needs a files dir; nothing here is served from disk.
    emptyDir = await mkdtemp(join(tmpdir(), 'kdv-s3-nginx-'));
    proxy = await startProxy('nginx', {
      upstreamPort: Number(new URL(app.url).port),
      filesDir: emptyDir,
    });
  });

  after(async function () {
    await proxy?.stop();
    await app?.close();
    appClient?.destroy();
    uploader?.destroy();
    await spy?.close();
    await s3?.stop();
    if (emptyDir !== undefined) await rm(emptyDir, { recursive: true, force: true });
  });

  beforeEach(function () {
    spy?.reset();
  });

  // Koa reports every thrown error, the deliberate 403 and 404 included; a server error
  // (not exposed) would mean the library failed.
  afterEach(function () {
    const serverErrors = (app?.errors ?? []).filter((err) => !('expose' in err && err.expose));
    expect(serverErrors).to.deep.equal([]);
  });

  it('serves a 5 MiB object through nginx byte-identical, with the app headers and no offload header', async function () {
    const res = await viaNginx(objectPath(BIG_NAME));
    const body = await bodyOf(res);
    expect(res.status, await proxy!.logs()).to.equal(200);
    expect(body.length).to.equal(BIG_SIZE);
    expect(sha256(body)).to.equal(sha256(big));
    expect(res.headers.get('content-type')).to.equal('application/octet-stream');
    expect(res.headers.get('content-disposition')).to.equal(
      'attachment; filename="Quarterly report 2026.bin"',
    );
    expect(res.headers.get('content-length')).to.equal(String(BIG_SIZE));
    // The validators are S3's (the object's MD5), since S3 sent these bytes.
    expect(res.headers.get('etag')).to.equal(`"${md5(big)}"`);
    expect(leakedOffloadHeaders(res)).to.deep.equal([]);
  });

  it("revalidates through nginx: If-None-Match with S3's ETag answers 304, no body read from S3", async function () {
    const res = await viaNginx(objectPath(BIG_NAME), { 'If-None-Match': `"${md5(big)}"` });
    expect([res.status, await res.text()]).to.deep.equal([304, '']);
    const key = PREFIX + BIG_NAME;
    expect(await spy!.requests()).to.deep.equal([
      { from: 'app', method: 'HEAD', key, range: undefined, status: 200, bodyBytes: 0 },
      { from: 'nginx', method: 'GET', key, range: undefined, status: 304, bodyBytes: 0 },
    ]);
  });

  it('never GETs the object from Koa: the app sends only a HEAD, nginx the one GET (counted at S3)', async function () {
    const opens = storage.opens;
    const res = await viaNginx(objectPath(BIG_NAME));
    expect(sha256(await bodyOf(res))).to.equal(sha256(big));
    const key = PREFIX + BIG_NAME;
    expect(await spy!.requests()).to.deep.equal([
      { from: 'app', method: 'HEAD', key, range: undefined, status: 200, bodyBytes: 0 },
      { from: 'nginx', method: 'GET', key, range: undefined, status: 200, bodyBytes: BIG_SIZE },
    ]);
    expect(storage.opens).to.equal(opens);
  });

  for (const [range, start, end] of [
    ['bytes=0-99', 0, 99],
    [`bytes=${BIG_SIZE - 100}-${BIG_SIZE - 1}`, BIG_SIZE - 100, BIG_SIZE - 1],
    ['bytes=1000000-1000099', 1_000_000, 1_000_099],
  ] as const) {
    it(`answers Range: ${range} through nginx with 206, the right 100 bytes, 100 bytes read from S3`, async function () {
      const res = await viaNginx(objectPath(BIG_NAME), { Range: range });
      const body = await bodyOf(res);
      expect(res.status).to.equal(206);
      expect(res.headers.get('content-range')).to.equal(`bytes ${start}-${end}/${BIG_SIZE}`);
      expect(body.toString('hex')).to.equal(big.subarray(start, end + 1).toString('hex'));
      const key = PREFIX + BIG_NAME;
      expect(await spy!.requests()).to.deep.equal([
        { from: 'app', method: 'HEAD', key, range: undefined, status: 200, bodyBytes: 0 },
        { from: 'nginx', method: 'GET', key, range, status: 206, bodyBytes: 100 },
      ]);
      expect(leakedOffloadHeaders(res)).to.deep.equal([]);
    });
  }

  // nginx forwards the client's Range as it came and passes the storage's 206 on; it does not
  // check it. s3rver parses `bytes=-100` as `bytes=0-100` (INFRA.md §5.3); real S3 answers
  // the last 100 bytes. So this states what this stack does with s3rver, not what S3 does.
  it('forwards a suffix Range (bytes=-100) to S3 verbatim; s3rver answers the first 101 bytes and nginx passes that on', async function () {
    const res = await viaNginx(objectPath(BIG_NAME), { Range: 'bytes=-100' });
    const body = await bodyOf(res);
    expect(res.status).to.equal(206);
    expect(res.headers.get('content-range')).to.equal(`bytes 0-100/${BIG_SIZE}`);
    expect(body.toString('hex')).to.equal(big.subarray(0, 101).toString('hex'));
    const key = PREFIX + BIG_NAME;
    expect(await spy!.requests()).to.deep.equal([
      { from: 'app', method: 'HEAD', key, range: undefined, status: 200, bodyBytes: 0 },
      { from: 'nginx', method: 'GET', key, range: 'bytes=-100', status: 206, bodyBytes: 101 },
    ]);
  });

  for (const name of AWKWARD_NAMES) {
    it(`keeps the presigned URL of ${JSON.stringify(name)} byte for byte from X-Offload-Url to S3, and serves its bytes`, async function () {
      const expectedPath = `/${s3!.bucket}/${PREFIX}${encodeSegments(name)}`;
      // The app's own answer, without nginx: the header carries the storage's URL unchanged.
      const direct = await rawRequest(`${app!.url}${objectPath(name)}`);
      expect(direct.body.toString()).to.equal('');
      expect(direct.status).to.equal(200);
      expect(direct.headers['x-accel-redirect']).to.equal('/remote/');
      expect(direct.headers['x-offload-url']).to.equal(storage.urls.at(-1));
      expect(new URL(storage.urls.at(-1)!).pathname).to.equal(expectedPath);

      spy!.reset();
      const res = await viaNginx(objectPath(name));
      expect(await res.text(), await proxy!.logs()).to.equal(`bytes of ${name}\n`);
      expect(res.status).to.equal(200);
      // The name the user sees is the app's, non-ASCII fallback and filename* included.
      for (const header of ['content-type', 'content-disposition']) {
        expect(res.headers.get(header), header).to.equal(direct.headers[header]);
      }
      const presigned = storage.urls.at(-1)!;
      expect(presigned).to.contain('X-Amz-Signature=');
      // What nginx sent to S3 is exactly the URL the storage presigned for this request.
      expect(spy!.targets().map((target) => spy!.origin + target)).to.deep.equal([
        `${spy!.origin}${expectedPath}`,
        presigned,
      ]);
      const key = PREFIX + name;
      expect(
        (await spy!.requests()).map(({ from, method, key }) => [from, method, key]),
      ).to.deep.equal([
        ['app', 'HEAD', key],
        ['nginx', 'GET', key],
      ]);
      expect(leakedOffloadHeaders(res)).to.deep.equal([]);
    });
  }

  // The object carries its own Content-Type and Content-Disposition from whoever uploaded it;
  // S3 sends them with the bytes. The client must get the app's, once each.
  it("sends the app's Content-Type and Content-Disposition, not the object's stored ones, once each", async function () {
    const res = await viaNginx(`/typed/${encodeSegments(TYPED_NAME)}`);
    const body = await bodyOf(res);
    expect(res.status).to.equal(200);
    expect(sha256(body)).to.equal(sha256(typed));
    expect(res.headers.get('content-type')).to.equal('application/pdf');
    expect(res.headers.get('content-disposition')).to.equal('attachment; filename="Q3 report.pdf"');
    expect(leakedOffloadHeaders(res)).to.deep.equal([]);
  });

  // Issue 18: save() stored no type, so S3's default (octet-stream) beat the guess from the name.
  it('serves a .txt stored by S3Storage.save() as text/plain: the type saved with it', async function () {
    const saver = new S3Storage({ client: uploader!, bucket: s3!.bucket, prefix: PREFIX });
    await saver.save('saved/hello.txt', 'Hello through nginx\n');
    const res = await viaNginx(objectPath('saved/hello.txt'));
    expect([res.status, await res.text()]).to.deep.equal([200, 'Hello through nginx\n']);
    expect(res.headers.get('content-type')).to.equal('text/plain; charset=utf-8');
    expect(res.headers.get('content-disposition')).to.equal('attachment; filename="hello.txt"');
    expect(leakedOffloadHeaders(res)).to.deep.equal([]);
    expect((await spy!.requests()).map(({ from, method }) => [from, method])).to.deep.equal([
      ['app', 'HEAD'],
      ['nginx', 'GET'],
    ]);
  });

  it('serves a .csv streamed into S3 in 3 parts byte-identical, as text/csv, through nginx', async function () {
    const saver = new S3Storage({
      client: uploader!,
      bucket: s3!.bucket,
      prefix: PREFIX,
      partSize: 5 * 1024 * 1024,
    });
    const bytes = randomBytes(2 * 5 * 1024 * 1024 + 11);
    await saver.save(
      'saved/export.csv',
      (async function* () {
        for (let at = 0; at < bytes.length; at += 65_536) yield bytes.subarray(at, at + 65_536);
      })(),
    );
    const res = await viaNginx(objectPath('saved/export.csv'));
    const body = await bodyOf(res);
    expect(res.status).to.equal(200);
    expect(sha256(body)).to.equal(sha256(bytes));
    expect(res.headers.get('content-type')).to.equal('text/csv; charset=utf-8');
    // The validator is the one S3 gave the completed upload (on AWS not the MD5 of the bytes).
    expect(res.headers.get('etag')).to.equal((await saver.stat('saved/export.csv')).etag);
    expect(leakedOffloadHeaders(res)).to.deep.equal([]);
  });

  it('answers 404 from the route for a missing key; nginx passes it on and never GETs from S3', async function () {
    const res = await viaNginx(objectPath('dir/missing.txt'));
    const body = await res.text();
    expect([res.status, body]).to.deep.equal([404, 'Not Found']);
    expect(res.headers.get('content-disposition')).to.equal(null);
    expect(leakedOffloadHeaders(res)).to.deep.equal([]);
    const key = `${PREFIX}dir/missing.txt`;
    expect(await spy!.requests()).to.deep.equal([
      { from: 'app', method: 'HEAD', key, range: undefined, status: 404, bodyBytes: 0 },
    ]);
  });

  it('keeps a 403 decided by a middleware before the route: no presigned URL, no S3 request', async function () {
    const urls = storage.urls.length;
    const res = await viaNginx(`/audit/${encodeSegments(BIG_NAME)}`);
    expect([res.status, await res.text()]).to.deep.equal([403, 'auditors only']);
    expect(res.headers.get('content-disposition')).to.equal(null);
    expect(leakedOffloadHeaders(res)).to.deep.equal([]);
    expect(storage.urls.length).to.equal(urls);
    expect(await spy!.requests()).to.deep.equal([]);

    // The same route with the role the middleware asks for is offloaded: the 403 was its call.
    const allowed = await viaNginx(`/audit/${encodeSegments(BIG_NAME)}`, { 'X-Role': 'auditor' });
    expect(allowed.status).to.equal(200);
    expect(sha256(await bodyOf(allowed))).to.equal(sha256(big));
  });
});
