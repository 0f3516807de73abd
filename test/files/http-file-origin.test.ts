import { expect } from 'chai';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { downloadview, HttpFile } from '../../src/index.ts';
import { randomFile } from '../support/fixtures.ts';
import { request, type RawResponse } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';

/** Over the 64 KiB the streaming backend reads into memory, so whole bodies are streamed. */
const FILE = randomFile(256 * 1024);
const SIZE = FILE.length;
const ETAG = '"origin-1"';

type Answer = (
  req: IncomingMessage,
  res: ServerResponse,
  range: [number, number] | undefined,
) => void;

/** A correct answer: 206 with the asked bytes, or 200 with all of them. */
const honest: Answer = (req, res, range) => {
  const body = range ? FILE.subarray(range[0], range[1] + 1) : FILE;
  const headers = { ETag: ETAG, 'Content-Length': body.length, 'Accept-Ranges': 'bytes' };
  if (!range) return void res.writeHead(200, headers).end(req.method === 'HEAD' ? '' : body);
  res.writeHead(206, { ...headers, 'Content-Range': `bytes ${range[0]}-${range[1]}/${SIZE}` });
  res.end(req.method === 'HEAD' ? '' : body);
};

/** `answer` for ranged GETs; HEAD and plain GETs are answered honestly. */
const onRange =
  (answer: Answer): Answer =>
  (req, res, range) =>
    range && req.method === 'GET' ? answer(req, res, range) : honest(req, res, range);

/** `status` to HEAD, honest answers to GET. */
const refusesHead =
  (status: number): Answer =>
  (req, res, range) =>
    req.method === 'HEAD' ? void res.writeHead(status).end() : honest(req, res, range);

/** A whole-file GET that sends its headers and part of the body, then nothing more. */
const stallsWhole =
  (head: Answer): Answer =>
  (req, res, range) => {
    if (req.method === 'HEAD' || range) return head(req, res, range);
    res.writeHead(200, { ETag: ETAG, 'Content-Length': SIZE }).write(FILE.subarray(0, 1024));
  };

/** Hostile or unusual origins, one per path. */
const ORIGINS: Record<string, Answer> = {
  '/honest.bin': honest,
  '/whole-206.bin': onRange((_req, res) => {
    // The original bug: a 206 carrying the whole file, no Content-Range.
    res.writeHead(206, { 'Content-Length': SIZE }).end(FILE);
  }),
  '/echoed-range-whole-body.bin': onRange((_req, res, [start, end] = [0, 0]) => {
    res.writeHead(206, {
      'Content-Range': `bytes ${start}-${end}/${SIZE}`,
      'Content-Length': SIZE,
    });
    res.end(FILE);
  }),
  '/first-bytes-206.bin': onRange((_req, res) => {
    res.writeHead(206, { 'Content-Range': `bytes 0-9/${SIZE}`, 'Content-Length': 10 });
    res.end(FILE.subarray(0, 10));
  }),
  '/wider-206.bin': onRange((_req, res, [, end] = [0, 0]) => {
    const last = Math.min(end + 1000, SIZE - 1);
    res.writeHead(206, { 'Content-Range': `bytes 0-${last}/${SIZE}`, 'Content-Length': last + 1 });
    res.end(FILE.subarray(0, last + 1));
  }),
  '/wider-chunked-206.bin': onRange((_req, res, [start] = [0, 0]) => {
    // No Content-Length: the whole rest of the file follows, chunked.
    res.writeHead(206, { 'Content-Range': `bytes ${start - 5}-${SIZE - 1}/${SIZE}` });
    res.end(FILE.subarray(start - 5));
  }),
  '/longer-body-206.bin': onRange((_req, res, [start, end] = [0, 0]) => {
    // The right Content-Range, then more bytes than it says, chunked.
    res.writeHead(206, { 'Content-Range': `bytes ${start}-${end}/${SIZE}` });
    res.end(FILE.subarray(start));
  }),
  '/no-content-range-206.bin': onRange((_req, res, [start, end] = [0, 0]) => {
    res.writeHead(206, { 'Content-Length': end - start + 1 }).end(FILE.subarray(start, end + 1));
  }),
  '/malformed-206.bin': onRange((_req, res, [start, end] = [0, 0]) => {
    res.writeHead(206, {
      'Content-Range': `bytes ${start}-${end}`,
      'Content-Length': end - start + 1,
    });
    res.end(FILE.subarray(start, end + 1));
  }),
  '/multipart-206.bin': onRange((_req, res, [start, end] = [0, 0]) => {
    const part = Buffer.concat([
      Buffer.from(`--b\r\nContent-Range: bytes ${start}-${end}/${SIZE}\r\n\r\n`),
      FILE.subarray(start, end + 1),
      Buffer.from('\r\n--b--\r\n'),
    ]);
    res.writeHead(206, { 'Content-Type': 'multipart/byteranges; boundary=b' }).end(part);
  }),
  '/other-size-206.bin': onRange((_req, res, [start, end] = [0, 0]) => {
    const length = end - start + 1;
    res.writeHead(206, {
      'Content-Range': `bytes ${start}-${end}/${SIZE + 1}`,
      'Content-Length': length,
    });
    res.end(FILE.subarray(start, end + 1));
  }),
  '/head-405.bin': refusesHead(405),
  '/head-403.bin': refusesHead(403),
  '/head-501.bin': refusesHead(501),
  '/stalled.bin': stallsWhole(honest),
  '/head-405-stalled.bin': stallsWhole(refusesHead(405)),
  '/short.bin': (req, res) => {
    // Announces the whole file, sends half, then drops the connection.
    res.writeHead(200, { ETag: ETAG, 'Content-Length': SIZE });
    if (req.method === 'HEAD') return void res.end();
    res.write(FILE.subarray(0, SIZE / 2), () => setTimeout(() => res.socket?.destroy(), 20));
  },
  '/short-small.bin': (req, res) => {
    res.writeHead(200, { ETag: ETAG, 'Content-Length': 1000 });
    if (req.method === 'HEAD') return void res.end();
    res.write(FILE.subarray(0, 500), () => setTimeout(() => res.socket?.destroy(), 20));
  },
  '/short-chunked.bin': (req, res) => {
    // HEAD announces the whole file; GET sends half of it, chunked, and ends cleanly.
    if (req.method === 'HEAD') return void res.writeHead(200, { 'Content-Length': SIZE }).end();
    res.writeHead(200).end(FILE.subarray(0, SIZE / 2));
  },
  '/gzip.bin': (req, res) => {
    // Encodes whatever the client accepts, as a misconfigured server does for .gz files.
    const body = gzipSync(FILE);
    res.writeHead(200, { 'Content-Encoding': 'gzip', 'Content-Length': body.length });
    res.end(req.method === 'HEAD' ? '' : body);
  },
  '/%ff.txt': honest,
  '/%E0%A4%A.pdf': honest,
};

async function until(check: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

/** An origin answering per path from ORIGINS, recording each request it receives. */
async function hostileOrigin() {
  const seen: string[] = [];
  let open = 0;
  const server = createServer((req, res) => {
    open++;
    res.on('close', () => open--);
    seen.push(`${req.method} ${req.url} ${req.headers.range ?? '-'}`);
    const match = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    const answer = ORIGINS[req.url ?? ''];
    if (!answer) return void res.writeHead(404).end();
    answer(req, res, match ? [Number(match[1]), Number(match[2])] : undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    openConnections: () => open,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('edges: HttpFile origins that lie, refuse HEAD or stop short', () => {
  let origin: Awaited<ReturnType<typeof hostileOrigin>>;
  let server: TestServer;
  before(async () => {
    origin = await hostileOrigin();
    server = await serve(downloadview(), (ctx) => {
      ctx.body = new HttpFile(origin.url + ctx.path);
    });
  });
  after(async () => {
    await server.close();
    await origin.close();
  });
  beforeEach(() => {
    origin.seen.length = 0;
    server.errors.length = 0;
  });

  const get = (path: string, headers: Record<string, string> = {}) =>
    request(server.url + path, { headers });

  /** A refusal before any byte: a complete 502 that says nothing of the origin, reported once. */
  function expectRefused(res: RawResponse) {
    expect(res.status).to.equal(502);
    expect(res.aborted).to.equal(false);
    expect(res.body.toString()).to.equal('Bad Gateway');
    expect(server.errors.map((err) => (err as { status?: number }).status)).to.deep.equal([502]);
    expect(server.errors.map((err) => (err as { expose?: boolean }).expose)).to.deep.equal([false]);
  }

  function expectRange(res: RawResponse, start: number, end: number) {
    expect(res.status).to.equal(206);
    expect(res.aborted).to.equal(false);
    expect(res.headers['content-range']).to.equal(`bytes ${start}-${end}/${SIZE}`);
    expect(res.body.equals(FILE.subarray(start, end + 1))).to.equal(true);
    expect(server.errors).to.deep.equal([]);
  }

  describe('a 206 that is not the asked range', () => {
    const refused: [string, string][] = [
      ['the whole file in a 206 without Content-Range', '/whole-206.bin'],
      ['the asked Content-Range over a whole-file body', '/echoed-range-whole-body.bin'],
      ['bytes 0-9 for bytes=10-19', '/first-bytes-206.bin'],
      ['no Content-Range', '/no-content-range-206.bin'],
      ['a Content-Range without complete length', '/malformed-206.bin'],
      ['multipart/byteranges for one range', '/multipart-206.bin'],
      ['a complete length other than the HEAD gave', '/other-size-206.bin'],
    ];
    for (const [what, path] of refused) {
      it(`answers 502, before any byte, to ${what}`, async () => {
        expectRefused(await get(path, { Range: 'bytes=10-19' }));
        expect(origin.seen).to.deep.equal([`HEAD ${path} -`, `GET ${path} bytes=10-19`]);
      });
    }

    const cut: [string, string][] = [
      ['a wider range with its Content-Length', '/wider-206.bin'],
      ['a wider range, chunked, to the end of the file', '/wider-chunked-206.bin'],
      ['the asked range followed by more bytes, chunked', '/longer-body-206.bin'],
    ];
    for (const [what, path] of cut) {
      it(`sends exactly bytes 10-19 out of ${what}`, async () => {
        expectRange(await get(path, { Range: 'bytes=10-19' }), 10, 19);
      });
    }

    it('cuts a connection whose multipart part the origin answers wrongly (bytes=10-19,30-39)', async () => {
      const res = await get('/first-bytes-206.bin', { Range: 'bytes=10-19,30-39' });
      expect(res.aborted).to.equal(true);
      expect(res.body.includes(FILE.subarray(0, 10))).to.equal(false);
      // Mid-body failures are reported as the storage error itself, by its stable code.
      expect(server.errors.map((err) => (err as { code?: string }).code)).to.deep.equal([
        'ERR_STORAGE_BAD_ORIGIN',
      ]);
    });
  });

  describe('an origin that refuses HEAD', () => {
    for (const status of [405, 403, 501]) {
      const path = `/head-${status}.bin`;

      it(`serves a plain GET with one origin GET when HEAD answers ${status}`, async () => {
        const res = await get(path);
        expect(res.status).to.equal(200);
        expect(res.body.equals(FILE)).to.equal(true);
        expect(res.headers.etag).to.equal(ETAG);
        expect(origin.seen).to.deep.equal([`GET ${path} -`]);
        expect(server.errors).to.deep.equal([]);
      });

      it(`serves a Range when HEAD answers ${status}, the metadata from a GET cut short`, async () => {
        expectRange(await get(path, { Range: 'bytes=1000-1999' }), 1000, 1999);
        expect(origin.seen).to.deep.equal([
          `HEAD ${path} -`,
          `GET ${path} -`,
          `GET ${path} bytes=1000-1999`,
        ]);
      });
    }

    it('closes the metadata GET after its headers, unread', async () => {
      const path = '/head-405-stalled.bin';
      expectRange(await get(path, { Range: 'bytes=1000-1999' }), 1000, 1999);
      expect(origin.seen).to.deep.equal([
        `HEAD ${path} -`,
        `GET ${path} -`,
        `GET ${path} bytes=1000-1999`,
      ]);
      await until(() => origin.openConnections() === 0);
    });

    it('answers a conditional GET from the metadata GET (304)', async () => {
      const res = await get('/head-405.bin', { 'If-None-Match': ETAG });
      expect(res.status).to.equal(304);
      expect(origin.seen).to.deep.equal(['HEAD /head-405.bin -', 'GET /head-405.bin -']);
    });
  });

  describe('an origin body shorter than announced', () => {
    it('cuts the client connection when the origin drops it mid-body', async () => {
      const res = await get('/short.bin');
      expect(res.status).to.equal(200);
      expect(res.headers['content-length']).to.equal(String(SIZE));
      expect(res.aborted).to.equal(true);
      expect(res.body.length).to.be.lessThan(SIZE);
      expect(server.errors).to.have.length(1);
    });

    it('answers 502 when a small body (read into memory) is cut short', async () => {
      expectRefused(await get('/short-small.bin'));
    });

    it('cuts the client connection when a chunked GET ends before the size HEAD gave', async () => {
      // A conditional GET plans from HEAD, then reads with a second GET.
      const res = await get('/short-chunked.bin', { 'If-None-Match': '"other"' });
      expect(res.status).to.equal(200);
      expect(res.headers['content-length']).to.equal(String(SIZE));
      expect(res.aborted).to.equal(true);
      expect(server.errors).to.have.length(1);
    });

    it('serves a plain GET of that origin as its GET describes it: chunked, complete', async () => {
      const res = await get('/short-chunked.bin');
      expect(res.status).to.equal(200);
      expect(res.headers['content-length']).to.equal(undefined);
      expect(res.aborted).to.equal(false);
      expect(res.body.equals(FILE.subarray(0, SIZE / 2))).to.equal(true);
    });
  });

  describe('other origins', () => {
    it('answers 502 to an origin that encodes the body despite Accept-Encoding: identity', async () => {
      expectRefused(await get('/gzip.bin'));
    });

    for (const [path, filename] of [
      ['/%ff.txt', '%ff.txt'],
      ['/%E0%A4%A.pdf', '%E0%A4%A.pdf'],
    ]) {
      it(`downloads ${path}, a URL with a malformed percent-escape, named ${filename}`, async () => {
        const res = await get(path!);
        expect(res.status).to.equal(200);
        expect(res.body.equals(FILE)).to.equal(true);
        expect(res.headers['content-disposition']).to.contain(filename);
        expect(origin.seen).to.deep.equal([`GET ${path} -`]);
      });
    }
  });

  describe('HttpFile.openFile', () => {
    it('gives undefined unless the whole file is wanted', async () => {
      expect(await new HttpFile(`${origin.url}/honest.bin`).openFile()).to.equal(undefined);
      expect(origin.seen).to.deep.equal([]);
    });

    it('reads a range of a file opened whole with a GET pinned to its ETag', async () => {
      const opened = await new HttpFile(`${origin.url}/honest.bin`).openFile({ whole: true });
      expect(opened?.stat).to.include({ size: SIZE, etag: ETAG });
      const bytes = await opened!.read({ start: 100, end: 199 });
      expect(bytes.equals(FILE.subarray(100, 200))).to.equal(true);
      expect(origin.seen).to.deep.equal(['GET /honest.bin -', 'GET /honest.bin bytes=100-199']);
    });

    it('cuts a range out of the held body when the origin gave no strong ETag', async () => {
      const opened = await new HttpFile(`${origin.url}/short-chunked.bin`).openFile({
        whole: true,
      });
      const stream = await opened!.stream({ start: 100, end: 199 });
      expect((await buffer(stream)).equals(FILE.subarray(100, 200))).to.equal(true);
      expect(origin.seen).to.deep.equal(['GET /short-chunked.bin -']);
    });

    it('close() ends the origin connection of the held body, and it is not read after', async () => {
      const opened = await new HttpFile(`${origin.url}/stalled.bin`).openFile({ whole: true });
      expect(origin.openConnections()).to.equal(1);
      opened!.close();
      await until(() => origin.openConnections() === 0);
      let error: unknown;
      await opened!.stream().catch((err: unknown) => (error = err));
      expect(error).to.be.an('error');
    });
  });
});
