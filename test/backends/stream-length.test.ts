import { expect } from 'chai';
import type { Context } from 'koa';
import { appendFile, truncate } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { downloadview, HttpFile, PathFile, StorageFile, VirtualFile } from '../../src/index.ts';
import type { ByteRange, Storage } from '../../src/storage.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { randomFile, tempTree } from '../support/fixtures.ts';
import { openDescriptorCount, parseMultipart } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { exchange, get, parseResponses, type Wire, type WireResponse } from '../support/wire.ts';

/** `bytes` as a stream of chunks of `chunkSize`, yielded one by one. */
function chunked(bytes: Buffer, chunkSize = 16 * 1024): Readable {
  async function* chunks() {
    for (let at = 0; at < bytes.length; at += chunkSize) {
      yield bytes.subarray(at, at + chunkSize);
      await sleep(1);
    }
  }
  return Readable.from(chunks(), { objectMode: false });
}

/**
 * A storage whose streams do not match its stat: `body(bytes, range)` decides what is read
 * for each open (more than asked, or fewer), while `stat()` tells the truth of `bytes`.
 */
function mismatchedStorage(bytes: Buffer, body: (bytes: Buffer, range?: ByteRange) => Buffer) {
  const inner = new MemoryStorage({ files: { 'a.bin': bytes } });
  let live = 0;
  const storage: Storage = {
    driver: 'mismatched',
    stat: (name) => inner.stat(name),
    open: async (_name, range) => {
      const stream = chunked(body(bytes, range));
      live++;
      stream.once('close', () => live--);
      return stream;
    },
    exists: (name) => inner.exists(name),
    save: (name, content) => inner.save(name, content),
    delete: (name) => inner.delete(name),
    path: (name) => inner.path(name),
    url: (name) => inner.url(name),
  };
  return {
    storage,
    get liveStreams() {
      return live;
    },
  };
}

/** Bytes that a client reading past a body would take for a response of its own. */
const INJECTED = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nINJECTED!', 'latin1');
const NEXT = 'the next response\n';

type Route = (ctx: Context) => void;

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

const codes = (server: TestServer) =>
  server.errors.map((err) => (err as NodeJS.ErrnoException).code);

/** The client saw the connection cut before the announced body, soon, not at a timeout. */
function expectAborted(wire: Wire, announced: number | undefined) {
  const { responses, rest } = parseResponses(wire.bytes);
  expect(responses, 'one response, cut short').to.have.length(1);
  if (announced !== undefined) {
    expect(Number(responses[0]!.headers['content-length'])).to.equal(announced);
  }
  expect(responses[0]!.complete, 'the body must not look complete').to.equal(false);
  expect(rest.length).to.equal(0);
  expect(wire.closed, 'the server must close the connection').to.equal(true);
  expect(wire.ms, 'closed at once, not at the keep-alive timeout').to.be.lessThan(1000);
}

describe('edges: the body matches its headers', () => {
  describe('a body longer than its Content-Length is cut at it', () => {
    const BYTES = randomFile(200 * 1024);
    const grows = (bytes: Buffer) => Buffer.concat([bytes, INJECTED]);
    /** A storage that ignores the end of a range and sends more after it. */
    const ignoresEnd = () =>
      mismatchedStorage(BYTES, (bytes, range) => grows(bytes.subarray(range?.start ?? 0)));

    /**
     * Sends `raw`, then a request for `/next` on the same connection (pipelined): the first
     * answer must be complete and pass `check`, the second must be NEXT, nothing may follow,
     * and the connection must stay open. Resolves to the codes of the errors reported.
     */
    async function expectHeld(
      route: Route,
      raw: string,
      check: (first: WireResponse) => void,
      slowly?: () => Promise<void>,
    ): Promise<unknown[]> {
      const server = await serve(downloadview(), (ctx: Context) => {
        if (ctx.path === '/next') ctx.body = new VirtualFile(NEXT, { name: 'next.txt' });
        else route(ctx);
      });
      try {
        const wire = await exchange(server.url, raw + get('/next'), { slowly });
        const { responses, rest } = parseResponses(wire.bytes);
        expect(responses.map((r) => r.complete)).to.deep.equal([true, true]);
        check(responses[0]!);
        expect(responses[1]!.body.toString(), 'the next response, clean').to.equal(NEXT);
        expect(rest.length, 'nothing past the second response').to.equal(0);
        expect(wire.closed, 'the connection stays usable').to.equal(false);
        return codes(server);
      } finally {
        await server.close();
      }
    }

    it('whole: a storage stream that yields more than its stat size', async () => {
      const grown = mismatchedStorage(BYTES, grows);
      const reported = await expectHeld(
        (ctx) => (ctx.body = new StorageFile(grown.storage, 'a.bin')),
        get('/a.bin'),
        (first) => expect([first.status, first.body.equals(BYTES)]).to.deep.equal([200, true]),
      );
      expect(reported).to.deep.equal(['ERR_STORAGE_CHANGED']);
      await until(() => grown.liveStreams === 0);
    });

    it('single range: a storage that ignores the end of the range', async () => {
      const wanted = BYTES.subarray(1000, 101000);
      const reported = await expectHeld(
        (ctx) => (ctx.body = new StorageFile(ignoresEnd().storage, 'a.bin')),
        get('/a.bin', { Range: 'bytes=1000-100999' }),
        (first) => expect([first.status, first.body.equals(wanted)]).to.deep.equal([206, true]),
      );
      expect(reported).to.deep.equal(['ERR_STORAGE_CHANGED']);
    });

    it('multipart: each part holds its range exactly, though the storage sends more', async () => {
      const reported = await expectHeld(
        (ctx) => (ctx.body = new StorageFile(ignoresEnd().storage, 'a.bin')),
        get('/a.bin', { Range: 'bytes=0-99,1000-1999' }),
        (first) => {
          const parts = parseMultipart(first.body, first.headers['content-type']!);
          expect(parts.map((part) => part.body)).to.deep.equal([
            BYTES.subarray(0, 100),
            BYTES.subarray(1000, 2000),
          ]);
          expect(first.body.toString('latin1')).to.match(/\r\n--[0-9a-f]+--\r\n$/);
        },
      );
      expect(reported, 'one report per part').to.deep.equal([
        'ERR_STORAGE_CHANGED',
        'ERR_STORAGE_CHANGED',
      ]);
    });

    it('a VirtualFile stream longer than its declared size', async () => {
      const reported = await expectHeld(
        (ctx) => {
          const content = chunked(grows(BYTES));
          ctx.body = new VirtualFile(content, { name: 'a.bin', size: BYTES.length });
        },
        get('/a.bin'),
        (first) => expect(first.body.equals(BYTES)).to.equal(true),
      );
      expect(reported).to.deep.equal(['ERR_STORAGE_CHANGED']);
    });

    it('a real file appended to while a slow client reads: sent as it was when opened', async () => {
      const original = randomFile(8 * 1024 * 1024);
      const tree = await tempTree({ 'log.bin': original });
      const path = join(tree.dir, 'log.bin');
      try {
        const reported = await expectHeld(
          (ctx) => (ctx.body = new PathFile(path)),
          get('/log.bin'),
          (first) => expect(first.body.equals(original)).to.equal(true),
          () => appendFile(path, Buffer.concat([INJECTED, randomFile(1024 * 1024)])),
        );
        // Read up to the size it was opened with: the growth is never seen, nothing to report.
        expect(reported).to.deep.equal([]);
      } finally {
        await tree.cleanup();
      }
    });
  });

  describe('a body shorter than its Content-Length aborts the connection', () => {
    const BYTES = randomFile(256 * 1024);

    let baseline: number;
    beforeEach(async () => (baseline = await openDescriptorCount()));
    // Files, sockets and origin connections: all released once the test has closed its servers.
    afterEach(() => until(async () => (await openDescriptorCount()) <= baseline));

    /** Runs `raw` against a server of `route`, expecting a cut and one report. */
    async function expectCut(
      route: Route,
      raw: string,
      announced: number | undefined,
      options: { slowly?: () => Promise<void>; anyError?: boolean } = {},
    ): Promise<void> {
      const { slowly, anyError = false } = options;
      const server = await serve(downloadview(), route);
      try {
        const wire = await exchange(server.url, raw, { quietMs: 3000, slowly });
        expectAborted(wire, announced);
        await until(() => server.errors.length > 0);
        await sleep(50);
        expect(server.errors, 'reported once').to.have.length(1);
        if (!anyError) expect(codes(server)).to.deep.equal(['ERR_STORAGE_CHANGED']);
      } finally {
        await server.close();
      }
    }

    it('whole: a storage stream that ends early', async () => {
      const short = mismatchedStorage(BYTES, (bytes) => bytes.subarray(0, 100 * 1024));
      await expectCut(
        (ctx) => (ctx.body = new StorageFile(short.storage, 'a.bin')),
        get('/a.bin'),
        BYTES.length,
      );
      await until(() => short.liveStreams === 0);
    });

    it('single range: a storage stream that ends early', async () => {
      const short = mismatchedStorage(BYTES, (bytes, range) =>
        bytes.subarray(range!.start, range!.start + 1000),
      );
      await expectCut(
        (ctx) => (ctx.body = new StorageFile(short.storage, 'a.bin')),
        get('/a.bin', { Range: 'bytes=1000-200999' }),
        200000,
      );
    });

    it('multipart: one part whose stream ends early', async () => {
      const short = mismatchedStorage(BYTES, (bytes, range) =>
        range!.start === 1000
          ? bytes.subarray(1000, 1500)
          : bytes.subarray(range!.start, range!.end + 1),
      );
      // The length announced depends on the random boundary: only its completeness is checked.
      await expectCut(
        (ctx) => (ctx.body = new StorageFile(short.storage, 'a.bin')),
        get('/a.bin', { Range: 'bytes=0-99,1000-1999,5000-5099' }),
        undefined,
      );
      await until(() => short.liveStreams === 0);
    });

    it('a VirtualFile stream shorter than its declared size', async () => {
      await expectCut(
        (ctx) =>
          (ctx.body = new VirtualFile(chunked(BYTES.subarray(0, 1000)), {
            name: 'a.bin',
            size: BYTES.length,
          })),
        get('/a.bin'),
        BYTES.length,
      );
    });

    it('an HttpFile whose origin sends less than it announced', async () => {
      const origin: Server = createServer((req, res) => {
        if (req.method === 'HEAD') {
          res.writeHead(200, { 'Content-Length': BYTES.length }).end();
        } else {
          // Chunked, so the origin's own answer is complete and only its HEAD disagrees.
          res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
          res.end(BYTES.subarray(0, 100 * 1024));
        }
      });
      await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
      const { port } = origin.address() as AddressInfo;
      try {
        // A conditional GET plans from the origin's HEAD, then reads with a GET of its own.
        await expectCut(
          (ctx) => (ctx.body = new HttpFile(`http://127.0.0.1:${port}/a.bin`)),
          get('/a.bin', { 'If-None-Match': '"other"' }),
          BYTES.length,
          // HttpFile may find the short answer first (its own error) or leave it to the guard.
          { anyError: true },
        );
      } finally {
        origin.closeAllConnections();
        await new Promise((resolve) => origin.close(resolve));
      }
    });

    it('a real file truncated while a slow client reads', async () => {
      const original = randomFile(32 * 1024 * 1024);
      const tree = await tempTree({ 'big.bin': original });
      const path = join(tree.dir, 'big.bin');
      try {
        await expectCut(
          (ctx) => (ctx.body = new PathFile(path)),
          get('/big.bin'),
          original.length,
          { slowly: () => truncate(path, 1024 * 1024) },
        );
      } finally {
        await tree.cleanup();
      }
    });
  });
});
