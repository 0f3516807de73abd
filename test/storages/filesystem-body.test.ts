import { expect } from 'chai';
import { createHash } from 'node:crypto';
import type { Context, Next } from 'koa';
import { Transform, Writable, type Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { downloadview, storageDownload } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { randomFile, tempTree } from '../support/fixtures.ts';
import { leaveMidBody, openDescriptorCount, request } from '../support/http.ts';
import { serve, TRANSPORT, type TestServer } from '../support/koa.ts';

/**
 * A filesystem body piped straight into an HTTP/1 response reads into a few buffers of its own
 * again and again (storages/filesystem-body.ts). These tests hold it to the condition that
 * makes that safe: a chunk anyone else could keep is never read into again.
 */
describe('FileSystemStorage bodies: read buffers reused only where nobody else holds a chunk', function () {
  this.timeout(30_000);
  // 8 MiB of random bytes: 128 chunks of 64 KiB, each different, so a buffer read into again
  // while a middleware still held it would change bytes that middleware compares.
  const FILE = randomFile(8 * 1024 * 1024);
  const sha = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');
  let tree: { dir: string; cleanup: () => Promise<void> };
  let server: TestServer | undefined;

  before(async () => {
    tree = await tempTree({ 'big.bin': FILE });
  });
  after(() => tree.cleanup());
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  /** Serves big.bin with `around` registered before downloadview() (so it runs after it). */
  async function start(around: (ctx: Context, next: Next) => Promise<void>) {
    const storage = new FileSystemStorage({ location: tree.dir });
    const route = storageDownload({ storage });
    server = await serve(around, downloadview(), (ctx: Context) => {
      ctx.params = { path: 'big.bin' };
      return route(ctx);
    });
    return server;
  }

  /** Waits until the event loop has run the reads a reused buffer would have had by now. */
  const afterLaterReads = () => sleep(50);

  it('a middleware that wraps the body and keeps every chunk it passes on finds them unchanged after the download', async () => {
    const kept: Buffer[] = [];
    const { url } = await start(async (ctx, next) => {
      await next();
      const keeper = new Transform({
        transform(chunk: Buffer, _encoding, callback) {
          kept.push(chunk);
          callback(null, chunk);
        },
      });
      ctx.body = (ctx.body as Readable).pipe(keeper);
    });
    const res = await request(`${url}/big.bin`);
    expect(res.status).to.equal(200);
    expect(sha(res.body)).to.equal(sha(FILE));
    await afterLaterReads();
    expect(sha(Buffer.concat(kept))).to.equal(sha(FILE));
  });

  it('a middleware that listens to the body and keeps every chunk finds them unchanged after the download', async () => {
    const kept: Buffer[] = [];
    const { url } = await start(async (ctx, next) => {
      await next();
      (ctx.body as Readable).on('data', (chunk: Buffer) => kept.push(chunk));
    });
    const res = await request(`${url}/big.bin`);
    expect(res.status).to.equal(200);
    expect(sha(res.body)).to.equal(sha(FILE));
    await afterLaterReads();
    expect(sha(Buffer.concat(kept))).to.equal(sha(FILE));
  });

  it('a middleware that keeps the chunks written to the response sees fresh ones unchanged when it also reads the body', async () => {
    // Keeping what reaches res.write is the socket's business once the write is done; a
    // middleware that wants to keep it must read the body (then nothing is reused): checked
    // here through both at once.
    const written: Buffer[] = [];
    const kept: Buffer[] = [];
    const { url } = await start(async (ctx, next) => {
      await next();
      (ctx.body as Readable).on('data', (chunk: Buffer) => kept.push(chunk));
      const write = ctx.res.write.bind(ctx.res) as (chunk: Buffer, cb?: () => void) => boolean;
      ctx.res.write = ((chunk: Buffer, cb?: () => void) => {
        written.push(chunk);
        return write(chunk, cb);
      }) as typeof ctx.res.write;
    });
    const res = await request(`${url}/big.bin`);
    expect(sha(res.body)).to.equal(sha(FILE));
    await afterLaterReads();
    expect(sha(Buffer.concat(written))).to.equal(sha(FILE));
    expect(new Set(written.map((chunk) => chunk.buffer)).size).to.be.greaterThan(100);
  });

  it('piped straight into an HTTP/1 response, it sends the exact bytes from a few reused buffers (over HTTP/2: fresh ones)', async () => {
    const buffers = new Set<ArrayBufferLike>();
    const hash = createHash('sha256');
    const { url } = await start(async (ctx, next) => {
      await next();
      // Only the identity of the memory is kept, and the bytes hashed as they are written.
      const write = ctx.res.write.bind(ctx.res) as (chunk: Buffer, cb?: () => void) => boolean;
      ctx.res.write = ((chunk: Buffer, cb?: () => void) => {
        buffers.add(chunk.buffer);
        hash.update(chunk);
        return write(chunk, cb);
      }) as typeof ctx.res.write;
    });
    const res = await request(`${url}/big.bin`);
    expect(res.status).to.equal(200);
    expect(sha(res.body)).to.equal(sha(FILE));
    expect(hash.digest('hex')).to.equal(sha(FILE));
    if (TRANSPORT === 'h2') {
      // No ServerResponse over HTTP/2: the body is read like any stream, a Buffer per chunk.
      expect(buffers.size).to.be.greaterThan(100);
    } else {
      // The first chunk (read before the pipe) and at most a few pooled buffers, not 128.
      expect(buffers.size).to.be.within(2, 8);
    }
  });

  it('a listener added once Koa pipes the body, and a tee piped then, get every byte, unchanged', async () => {
    const kept: Buffer[] = [];
    const teed: Buffer[] = [];
    let teeFinished = false;
    const { url } = await start(async (ctx, next) => {
      await next();
      const body = ctx.body as Readable;
      ctx.res.once('pipe', () => {
        body.on('data', (chunk: Buffer) => kept.push(chunk));
        const tee = new Writable({
          write(chunk: Buffer, _encoding, callback) {
            teed.push(chunk);
            callback();
          },
        });
        tee.on('finish', () => (teeFinished = true));
        body.pipe(tee);
      });
    });
    const res = await request(`${url}/big.bin`);
    expect(sha(res.body)).to.equal(sha(FILE));
    await afterLaterReads();
    expect(sha(Buffer.concat(kept))).to.equal(sha(FILE));
    expect(sha(Buffer.concat(teed))).to.equal(sha(FILE));
    expect(teeFinished).to.equal(true);
  });

  it('a range is sent exactly, from the same reused buffers', async () => {
    const { url } = await start((_ctx, next) => next());
    const res = await request(`${url}/big.bin`, { headers: { Range: 'bytes=100000-5000000' } });
    expect(res.status).to.equal(206);
    expect(sha(res.body)).to.equal(sha(FILE.subarray(100_000, 5_000_001)));
  });

  it('a client that leaves mid-download gets its descriptor closed, and the next download is whole', async () => {
    const { url } = await start((_ctx, next) => next());
    await request(`${url}/big.bin`);
    const before = await openDescriptorCount();
    for (let i = 0; i < 5; i++) await leaveMidBody(`${url}/big.bin`, { afterBytes: 200_000 });
    for (let i = 0; i < 50 && (await openDescriptorCount()) > before; i++) await sleep(20);
    expect(await openDescriptorCount()).to.be.at.most(before);
    const res = await request(`${url}/big.bin`);
    expect(sha(res.body)).to.equal(sha(FILE));
    expect(server!.errors).to.deep.equal([]);
  });
});
