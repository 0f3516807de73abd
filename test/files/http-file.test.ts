import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { downloadview, httpDownload, HttpFile } from '../../src/index.ts';
import { randomFile } from '../support/fixtures.ts';
import { request, leaveMidBody } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';

const BIG = randomFile(4 * 1024 * 1024);
const LAST_MODIFIED = 'Fri, 02 Jan 2026 03:04:05 GMT';

/** An origin serving BIG at /big.bin; ranges honoured unless `ignoreRanges`. */
async function origin(options: { ignoreRanges?: boolean } = {}) {
  let open = 0;
  const server: Server = createServer((req, res) => {
    open++;
    res.on('close', () => open--);
    if (req.url === '/slow') return; // never answers
    if (req.url === '/fail') return void res.writeHead(500).end('boom');
    if (req.url !== '/big.bin') return void res.writeHead(404).end('nope');
    const headers = {
      'Content-Type': 'application/x-test',
      ETag: '"big-1"',
      'Last-Modified': LAST_MODIFIED,
    };
    const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
    if (range && !options.ignoreRanges) {
      const [start, end] = [Number(range[1]), Number(range[2])];
      res.writeHead(206, {
        ...headers,
        'Content-Length': end - start + 1,
        'Content-Range': `bytes ${start}-${end}/${BIG.length}`,
      });
      return void res.end(req.method === 'HEAD' ? undefined : BIG.subarray(start, end + 1));
    }
    res.writeHead(200, { ...headers, 'Content-Length': BIG.length });
    res.end(req.method === 'HEAD' ? undefined : BIG);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    openConnections: () => open,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

for (const ignoreRanges of [false, true]) {
  describe(`HttpFile from an origin that ${ignoreRanges ? 'ignores' : 'honours'} Range`, () => {
    let source: Awaited<ReturnType<typeof origin>>;
    let server: TestServer;
    before(async () => {
      source = await origin({ ignoreRanges });
      server = await serve(
        downloadview(),
        httpDownload({ url: (ctx) => source.url + ctx.path, timeout: 300 }),
      );
    });
    after(async () => {
      await server.close();
      await source.close();
    });

    it('streams the whole file with the origin metadata', async () => {
      const res = await request(`${server.url}/big.bin`);
      expect(res.status).to.equal(200);
      expect(res.body.equals(BIG)).to.equal(true);
      expect(res.headers['content-type']).to.equal('application/x-test');
      expect(res.headers['etag']).to.equal('"big-1"');
      expect(res.headers['last-modified']).to.equal(LAST_MODIFIED);
    });

    it('serves a range with the right bytes', async () => {
      const res = await request(`${server.url}/big.bin`, { headers: { Range: 'bytes=1000-1999' } });
      expect(res.status).to.equal(206);
      expect(res.body.equals(BIG.subarray(1000, 2000))).to.equal(true);
    });

    it('serves a multi-range request', async () => {
      const res = await request(`${server.url}/big.bin`, { headers: { Range: 'bytes=0-9,-10' } });
      expect(res.status).to.equal(206);
      expect(res.headers['content-type']).to.match(/^multipart\/byteranges/);
    });

    it('answers 304 from the origin validators', async () => {
      const res = await request(`${server.url}/big.bin`, {
        headers: { 'If-None-Match': '"big-1"' },
      });
      expect(res.status).to.equal(304);
    });

    const failures: [string, string, number][] = [
      ['an origin 404', '/missing', 404],
      ['an origin 500', '/fail', 502],
      ['an origin that never answers', '/slow', 504],
    ];
    for (const [what, path, status] of failures) {
      it(`answers ${status} for ${what}`, async () => {
        const res = await request(server.url + path);
        expect(res.status).to.equal(status);
        expect(res.body.toString()).to.not.contain('127.0.0.1');
      });
    }

    it('closes the origin connection when the client leaves mid-download', async () => {
      const errorsBefore = server.errors.length;
      await leaveMidBody(`${server.url}/big.bin`);
      for (let i = 0; i < 100 && source.openConnections() > 0; i++) await sleep(20);
      expect(source.openConnections()).to.equal(0);
      expect(server.errors.slice(errorsBefore)).to.deep.equal([]);
    });
  });
}

describe('HttpFile', () => {
  it('answers 502 when the origin is unreachable', async () => {
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new HttpFile('http://127.0.0.1:1/x.bin');
    });
    try {
      expect((await request(server.url)).status).to.equal(502);
    } finally {
      await server.close();
    }
  });

  /** An origin whose file changes to version 2 right after its first HEAD; it honours If-Match. */
  async function changingOrigin() {
    const seen: string[] = [];
    let version = 1;
    const origin = createServer((req, res) => {
      seen.push(`${req.method} ${req.headers['if-match'] ?? '-'}`);
      const etag = `"v${version}"`;
      const body = `content of version ${version}\n`;
      if (req.method === 'HEAD') version = 2;
      const wanted = req.headers['if-match'];
      if (wanted !== undefined && wanted !== etag) return void res.writeHead(412).end();
      res.writeHead(200, { ETag: etag, 'Content-Length': body.length });
      res.end(req.method === 'HEAD' ? undefined : body);
    });
    await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve));
    const { port } = origin.address() as AddressInfo;
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new HttpFile(`http://127.0.0.1:${port}/doc.txt`);
    });
    const close = async () => {
      await server.close();
      origin.closeAllConnections();
      await new Promise((resolve) => origin.close(resolve));
    };
    return { url: server.url, seen, close };
  }

  it('pins its ranged GET with If-Match and re-plans when the origin changed since the HEAD (412)', async () => {
    const changing = await changingOrigin();
    try {
      // "content of version N\n": byte 19 is N. The origin ignores Range: the byte is cut out.
      const res = await request(changing.url, { headers: { Range: 'bytes=19-19' } });
      expect(res.status).to.equal(206);
      expect(res.body.toString()).to.equal('2');
      expect(res.headers.etag).to.equal('"v2"');
      expect(changing.seen).to.deep.equal(['HEAD -', 'GET "v1"', 'HEAD -', 'GET "v2"']);
    } finally {
      await changing.close();
    }
  });

  it('serves a plain download with one GET, metadata and bytes from the same answer', async () => {
    const changing = await changingOrigin();
    try {
      const res = await request(changing.url);
      expect(res.status).to.equal(200);
      expect(res.body.toString()).to.equal('content of version 1\n');
      expect(res.headers.etag).to.equal('"v1"');
      expect(changing.seen).to.deep.equal(['GET -']);
    } finally {
      await changing.close();
    }
  });

  it('takes its name from the decoded URL path and refuses other protocols', () => {
    expect(new HttpFile('http://h/dir/r%C3%A9sum%C3%A9.pdf').filename).to.equal('résumé.pdf');
    expect(new HttpFile('http://h/dir/').filename).to.equal('dir');
    expect(new HttpFile('http://h/').filename).to.equal('download');
    expect(() => new HttpFile('file:///etc/passwd')).to.throw(TypeError);
    expect(() => new HttpFile('http://h/x', { timeout: 0 })).to.throw(TypeError, /timeout/);
  });
});
