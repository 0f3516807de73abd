import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { fileURLToPath } from 'node:url';
import { downloadview, StorageError, StorageFile } from '../../src/index.ts';
import { S3Storage, type S3StorageOptions } from '../../storages/s3.ts';
import { request } from '../support/http.ts';
import { serve } from '../support/koa.ts';
import { freePort, s3Client, startS3Server, type S3TestServer } from '../../support/s3-server.ts';

const MiB = 1024 * 1024;
const PART = 5 * MiB;

/** What reached s3rver through the relay: `METHOD /bucket/key?query` and the status. */
interface Seen {
  line: string;
  status: number;
}

/**
 * An HTTP relay in front of s3rver that lists the requests it passes (at the HTTP level, so a
 * request line is never lost in a part's bytes). `answer` may answer a request itself: the one
 * S3 call s3rver lacks (AbortMultipartUpload) is stood in for that way, and says so.
 */
async function startRelay(
  targetPort: number,
  answer?: (method: string, url: string) => number | undefined,
): Promise<{
  origin: string;
  seen: () => Seen[];
  received: () => number;
  close: () => Promise<void>;
}> {
  const seen: Seen[] = [];
  let received = 0;
  const server: Server = createServer((req, res) => {
    const record = { line: `${req.method} ${req.url}`, status: 0 };
    seen.push(record);
    req.on('data', (chunk: Buffer) => (received += chunk.length));
    const own = answer?.(req.method ?? '', req.url ?? '');
    if (own !== undefined) {
      req.resume();
      record.status = own;
      res.writeHead(own).end();
      return;
    }
    const upstream = httpRequest(
      {
        host: '127.0.0.1',
        port: targetPort,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (reply) => {
        record.status = reply.statusCode ?? 0;
        res.writeHead(record.status, reply.headers);
        reply.pipe(res);
      },
    );
    upstream.on('error', (err) => res.destroy(err));
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen: () => seen,
    received: () => received,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** `size` random bytes in 64 KiB chunks, generated as read, with the hash of what was sent. */
function generated(size: number, failAfter?: number) {
  const hash = createHash('sha256');
  const failure = new Error('the generator failed mid-stream');
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let sent = 0; sent < size;) {
      if (failAfter !== undefined && sent >= failAfter) throw failure;
      const chunk = randomBytes(Math.min(64 * 1024, size - sent));
      hash.update(chunk);
      sent += chunk.length;
      yield chunk;
    }
  }
  return { stream: Readable.from(chunks()), sha256: () => hash.digest('hex'), failure };
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
/** The S3 call each request line is, in the order sent (parts and their ids left out). */
const calls = (seen: Seen[]) =>
  seen.map(({ line, status }) => {
    const [method, target] = line.split(' ') as [string, string];
    const query = new URLSearchParams(target.split('?')[1] ?? '');
    if (query.has('uploads')) return `${method} uploads ${status}`;
    if (query.has('partNumber')) return `${method} part ${query.get('partNumber')} ${status}`;
    if (query.has('uploadId')) return `${method} uploadId ${status}`;
    return `${method} ${query.get('x-id') ?? 'object'} ${status}`;
  });

describe('S3Storage.save() against a real S3-protocol server (s3rver)', function () {
  let s3: S3TestServer;
  before(async () => {
    s3 = await startS3Server();
  });
  after(() => s3?.stop());

  const storageAt = (endpoint?: string, options: Partial<S3StorageOptions> = {}) =>
    new S3Storage({
      client: endpoint ? s3Client(endpoint) : s3.client(),
      bucket: s3.bucket,
      prefix: `${randomUUID()}/`,
      partSize: PART,
      ...options,
    });

  describe('content type', () => {
    for (const [name, type] of [
      ['hello.txt', 'text/plain; charset=utf-8'],
      ['report.PDF', 'application/pdf'],
      ['data/table.csv', 'text/csv; charset=utf-8'],
      ['notes', 'application/octet-stream'],
      ['v1.2/README', 'application/octet-stream'],
      ['archive.tar.unknownext', 'application/octet-stream'],
    ] as const) {
      it(`stores ${type} for ${JSON.stringify(name)}, guessed from the extension alone`, async () => {
        const storage = storageAt();
        await storage.save(name, 'hello\n');
        expect((await storage.stat(name)).contentType).to.equal(type);
      });
    }

    it('streams a saved hello.txt through downloadview as text/plain, plain and ranged', async () => {
      const storage = storageAt();
      await storage.save('hello.txt', 'Hello, world!\n');
      const server = await serve(downloadview(), (ctx) => {
        ctx.body = new StorageFile(storage, ctx.path.slice(1));
      });
      try {
        const whole = await request(`${server.url}/hello.txt`);
        expect([whole.status, whole.body.toString()]).to.deep.equal([200, 'Hello, world!\n']);
        expect(whole.headers['content-type']).to.equal('text/plain; charset=utf-8');
        const ranged = await request(`${server.url}/hello.txt`, {
          headers: { Range: 'bytes=0-4' },
        });
        expect([ranged.status, ranged.body.toString()]).to.deep.equal([206, 'Hello']);
        expect(ranged.headers['content-type']).to.equal('text/plain; charset=utf-8');
      } finally {
        await server.close();
      }
    });

    it('stores a streamed, multipart save with the guessed type too', async () => {
      const storage = storageAt();
      await storage.save('export.csv', generated(PART + 10).stream);
      expect((await storage.stat('export.csv')).contentType).to.equal('text/csv; charset=utf-8');
    });

    it('stores the contentType option instead of the guess, for bytes and streams', async () => {
      const storage = storageAt();
      await storage.save('a.txt', 'x', { contentType: 'text/markdown; charset=utf-8' });
      await storage.save('b.bin', generated(PART + 1).stream, { contentType: 'image/png' });
      expect((await storage.stat('a.txt')).contentType).to.equal('text/markdown; charset=utf-8');
      expect((await storage.stat('b.bin')).contentType).to.equal('image/png');
    });

    for (const [what, contentType] of [
      ['a file name', 'Invoice 2024/001.pdf'],
      ['a header injection', 'text/plain\r\nX-Evil: 1'],
      ['non-ASCII', 'text/plain; name=é'],
      ['an empty string', ''],
      ['a number', 42],
    ] as const) {
      it(`refuses a contentType that is ${what} with a TypeError, before any request`, async () => {
        const relay = await startRelay(s3.port);
        try {
          const storage = storageAt(relay.origin);
          const err = await storage.save('a.txt', 'x', { contentType } as never).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(err).to.be.instanceOf(TypeError);
          expect((err as Error).message).to.contain('"contentType"');
          expect(relay.seen()).to.deep.equal([]);
        } finally {
          await relay.close();
        }
      });
    }

    it('refuses save options it does not know with a TypeError naming them', async () => {
      const err = await storageAt()
        .save('a.txt', 'x', { ContentType: 'text/plain' } as never)
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect((err as Error).message).to.match(
        /S3Storage.save: unknown option "ContentType"; known options: contentType/,
      );
    });
  });

  describe('bounded memory: multipart uploads', () => {
    let relay: Awaited<ReturnType<typeof startRelay>>;
    beforeEach(async () => {
      relay = await startRelay(s3.port);
    });
    afterEach(() => relay.close());

    it('stores bytes of at most one part with one PutObject', async () => {
      const bytes = randomBytes(PART);
      const storage = storageAt(relay.origin);
      await storage.save('one.bin', bytes);
      expect(calls(relay.seen())).to.deep.equal(['PUT PutObject 200']);
      expect(sha256(await buffer(await storage.open('one.bin')))).to.equal(sha256(bytes));
    });

    it('stores a stream shorter than one part with one PutObject', async () => {
      const source = generated(PART - 1);
      const storage = storageAt(relay.origin);
      await storage.save('short.bin', source.stream);
      expect(calls(relay.seen())).to.deep.equal(['PUT PutObject 200']);
      expect(sha256(await buffer(await storage.open('short.bin')))).to.equal(source.sha256());
    });

    it('stores a stream of 2 parts and 7 bytes in 3 parts, byte for byte', async () => {
      const size = 2 * PART + 7;
      const source = generated(size);
      const storage = storageAt(relay.origin);
      await storage.save('dir/big.bin', source.stream);
      const seen = calls(relay.seen());
      expect(seen[0]).to.equal('POST uploads 200');
      expect(seen.slice(1, 4).sort()).to.deep.equal([
        'PUT part 1 200',
        'PUT part 2 200',
        'PUT part 3 200',
      ]);
      expect(seen.slice(4)).to.deep.equal(['POST uploadId 200']);
      expect((await storage.stat('dir/big.bin')).size).to.equal(size);
      expect(sha256(await buffer(await storage.open('dir/big.bin')))).to.equal(source.sha256());
    });

    it('reads a 40 MiB stream at most a few parts ahead of what reached the server', async () => {
      const size = 8 * PART;
      const storage = storageAt(relay.origin, { queueSize: 2 });
      let lead = 0;
      async function* watched(): AsyncGenerator<Buffer> {
        for (let made = 0; made < size; made += 64 * 1024) {
          // Bytes made but not yet received by S3: all that can be held in memory for this save.
          lead = Math.max(lead, made - relay.received());
          yield Buffer.alloc(64 * 1024, made & 0xff);
        }
      }
      await storage.save('watched.bin', watched());
      expect((await storage.stat('watched.bin')).size).to.equal(size);
      // queueSize parts on their way, one being filled, one waiting for a free slot; collecting
      // the content first (what save() did before) would lead by all 40 MiB.
      expect(lead).to.be.at.most((2 + 2) * PART + 64 * 1024);
    });

    it('stores an async iterable and a Buffer over one part in parts, byte for byte', async () => {
      const bytes = randomBytes(PART + 3);
      const storage = storageAt(relay.origin);
      await storage.save('buffer.bin', bytes);
      const source = generated(PART + 5);
      await storage.save('iterable.bin', source.stream[Symbol.asyncIterator]());
      expect(calls(relay.seen()).filter((call) => call.startsWith('PUT part'))).to.have.length(4);
      expect(sha256(await buffer(await storage.open('buffer.bin')))).to.equal(sha256(bytes));
      expect(sha256(await buffer(await storage.open('iterable.bin')))).to.equal(source.sha256());
    });
  });

  describe('failures', () => {
    it('aborts the multipart upload when the content fails mid-stream: the old object stays, whole', async () => {
      const relay = await startRelay(s3.port);
      try {
        const storage = storageAt(relay.origin);
        await storage.save('kept.txt', 'the previous version\n');
        const source = generated(3 * PART, PART + 1);
        const err = (await storage
          .save('kept.txt', source.stream)
          .catch((e: unknown) => e)) as StorageError;
        expect(err).to.be.instanceOf(StorageError);
        expect(err.code).to.equal('ERR_STORAGE_UNAVAILABLE');
        expect(err.cause).to.equal(source.failure);
        // s3rver does not implement AbortMultipartUpload (405): the error says the parts remain.
        expect(calls(relay.seen()).at(-1)).to.equal('DELETE uploadId 405');
        expect(err.message).to.match(
          /aborting multipart upload \S+ failed too \(MethodNotAllowed\)/,
        );
        expect((await buffer(await storage.open('kept.txt'))).toString()).to.equal(
          'the previous version\n',
        );
        expect(source.stream.destroyed).to.equal(true);
      } finally {
        await relay.close();
      }
    });

    it('reports the content failure itself when the abort succeeds (abort answered by the relay)', async () => {
      // The one call s3rver lacks is answered 204 as S3 does; everything else is s3rver's.
      const relay = await startRelay(s3.port, (method, url) =>
        method === 'DELETE' && url.includes('uploadId=') ? 204 : undefined,
      );
      try {
        const storage = storageAt(relay.origin);
        const source = generated(3 * PART, PART + 1);
        const err = (await storage
          .save('new.bin', source.stream)
          .catch((e: unknown) => e)) as StorageError;
        expect(err.code).to.equal('ERR_STORAGE_UNAVAILABLE');
        expect(err.cause).to.equal(source.failure);
        expect(err.message).not.to.contain('remain');
        const seen = calls(relay.seen());
        expect(seen[0]).to.equal('POST uploads 200');
        expect(seen).to.include('PUT part 1 200');
        expect(seen).not.to.include('POST uploadId 200');
        expect(seen.at(-1)).to.equal('DELETE uploadId 204');
        expect(await storage.exists('new.bin')).to.equal(false);
      } finally {
        await relay.close();
      }
    });

    it('fails a stream save to an unreachable server with ERR_STORAGE_UNAVAILABLE and destroys the stream', async () => {
      const storage = storageAt(`http://127.0.0.1:${await freePort()}`);
      const source = generated(3 * PART);
      const err = (await storage
        .save('a.bin', source.stream)
        .catch((e: unknown) => e)) as StorageError;
      expect(err.code).to.equal('ERR_STORAGE_UNAVAILABLE');
      expect(source.stream.destroyed).to.equal(true);
      const small = (await storage.save('a.txt', 'x').catch((e: unknown) => e)) as StorageError;
      expect(small.code).to.equal('ERR_STORAGE_UNAVAILABLE');
    });
  });

  describe('options', () => {
    const client = s3Client('http://127.0.0.1:1');
    for (const [what, options, named] of [
      ['a part under 5 MiB', { partSize: PART - 1 }, 'partSize'],
      ['a part over 5 GiB', { partSize: 5 * 1024 * MiB + 1 }, 'partSize'],
      ['a fractional part', { partSize: PART + 0.5 }, 'partSize'],
      ['a part size as a string', { partSize: '8MB' }, 'partSize'],
      ['a queue of 0', { queueSize: 0 }, 'queueSize'],
      ['a queue of 65', { queueSize: 65 }, 'queueSize'],
    ] as const) {
      it(`refuses ${what} with a TypeError naming the option`, () => {
        expect(() => new S3Storage({ client, bucket: 'b', ...(options as object) })).to.throw(
          TypeError,
          `S3Storage option "${named}"`,
        );
      });
    }

    it('defaults to 8 MiB parts, 4 at a time', () => {
      const storage = new S3Storage({ client, bucket: 'b' });
      expect([storage.partSize, storage.queueSize]).to.deep.equal([8 * MiB, 4]);
    });
  });

  describe('without the optional peer @aws-sdk/lib-storage', () => {
    /** Runs a save in a child process where `@aws-sdk/lib-storage` cannot be resolved. */
    async function saveWithoutLibStorage(content: 'bytes' | 'stream'): Promise<string> {
      const hook = `export async function resolve(specifier, context, next) {
        if (specifier === '@aws-sdk/lib-storage') return next(specifier, { ...context, parentURL: 'file:///nonexistent/x.mjs' });
        return next(specifier, context);
      }`;
      const register = `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(hook)}`)});`;
      const s3Module = new URL('../../storages/s3.ts', import.meta.url).href;
      const clientModule = new URL('../../support/s3-server.ts', import.meta.url).href;
      const script = `
        const { S3Storage } = await import(${JSON.stringify(s3Module)});
        const { s3Client } = await import(${JSON.stringify(clientModule)});
        const { Readable } = await import('node:stream');
        const storage = new S3Storage({ client: s3Client(process.env.ENDPOINT), bucket: process.env.BUCKET });
        const content = process.env.CONTENT === 'bytes' ? 'saved without lib-storage' : Readable.from([Buffer.from('x')]);
        try {
          await storage.save('peer/' + process.env.CONTENT + '.txt', content);
          console.log(JSON.stringify({ saved: true }));
        } catch (err) {
          console.log(JSON.stringify({ code: err.code, message: err.message, cause: err.cause?.code }));
        }`;
      const args = [
        '--import',
        'tsx',
        '--import',
        `data:text/javascript,${encodeURIComponent(register)}`,
      ];
      const child = spawn(process.execPath, [...args, '--input-type=module', '-e', script], {
        cwd: fileURLToPath(new URL('../..', import.meta.url)),
        env: { ...process.env, ENDPOINT: s3.endpoint, BUCKET: s3.bucket, CONTENT: content },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const stderr = buffer(child.stderr);
      const out = (await buffer(child.stdout)).toString().trim();
      // The AWS SDK's Node-version notice goes to stderr; anything else there is shown.
      return out || (await stderr).toString();
    }

    it('still saves a string of one part, with one PutObject', async () => {
      expect(JSON.parse(await saveWithoutLibStorage('bytes'))).to.deep.equal({ saved: true });
      const storage = new S3Storage({ client: s3.client(), bucket: s3.bucket });
      expect((await buffer(await storage.open('peer/bytes.txt'))).toString()).to.equal(
        'saved without lib-storage',
      );
    });

    it('refuses a stream with ERR_STORAGE_UNSUPPORTED, naming the package to install', async () => {
      const outcome = JSON.parse(await saveWithoutLibStorage('stream')) as {
        code: string;
        message: string;
        cause: string;
      };
      expect(outcome.code).to.equal('ERR_STORAGE_UNSUPPORTED');
      expect(outcome.cause).to.equal('ERR_MODULE_NOT_FOUND');
      expect(outcome.message).to.contain('install it');
      expect(outcome.message).to.contain('@aws-sdk/lib-storage');
    });
  });
});
