import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { readdir, readlink, realpath, writeFile } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { downloadview, StorageChangedError, StorageFile } from '../../src/index.ts';
import type { ByteRange, OpenedFile, Storage } from '../../src/storage.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { HELLO, randomFile, tempTree, trackOpened } from '../support/fixtures.ts';
import { parseMultipart, request, leaveMidBody } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { skipOrFail } from '../support/skip.ts';

const LINUX = process.platform === 'linux';
const LIMIT = 64 * 1024;
const AT_LIMIT = randomFile(LIMIT);
const OVER_LIMIT = randomFile(LIMIT + 1);
const LARGE = randomFile(1024 * 1024);

/**
 * The paths of this process's open descriptors that lead into `dir` (Linux): files a request
 * left open. Sockets (keep-alive connections of the test client and server) are not counted.
 */
async function descriptorsInto(dir: string): Promise<string[]> {
  const real = await realpath(dir);
  const fds = await readdir('/proc/self/fd');
  const targets = await Promise.all(
    fds.map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
  );
  return targets.filter((target) => target === real || target.startsWith(real + sep));
}

/** Waits until no descriptor leads into `dir` any more (Linux; elsewhere there is no listing). */
async function noDescriptorInto(dir: string): Promise<void> {
  if (!LINUX) return;
  let left: string[] = [];
  await until(async () => (left = await descriptorsInto(dir)).length === 0).catch(() => {
    throw new Error(`descriptors left open: ${left.join(', ')}`);
  });
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

/** One call the streaming backend made on the storage or on an opened file. */
interface Call {
  method: 'stat' | 'open' | 'openFile' | 'read' | 'stream' | 'close';
  name: string;
  range?: ByteRange;
  whole?: boolean;
}

/**
 * A FileSystemStorage that records every call and counts opened files not yet released (read,
 * stream closed, or close()). `afterOpen` runs after each `openFile` has opened the file and
 * before the backend gets it, to change the file at a chosen moment.
 */
function spyStorage(
  inner: FileSystemStorage,
  hooks: { afterOpen?: (name: string, attempt: number) => Promise<void> } = {},
) {
  const calls: Call[] = [];
  let live = 0;
  let attempts = 0;
  const tracked = (name: string, file: OpenedFile): OpenedFile => {
    live++;
    return trackOpened(file, {
      called: (method, range) => calls.push({ method, name, range }),
      released: () => live--,
    });
  };
  const storage: Storage = {
    driver: inner.driver,
    stat: (name) => {
      calls.push({ method: 'stat', name });
      return inner.stat(name);
    },
    open: (name, range) => {
      calls.push({ method: 'open', name, range });
      return inner.open(name, range);
    },
    openFile: async (name, options) => {
      calls.push({ method: 'openFile', name, whole: options?.whole });
      const file = await inner.openFile(name, options);
      await hooks.afterOpen?.(name, ++attempts);
      return tracked(name, file);
    },
    exists: (name) => inner.exists(name),
    save: (name, content) => inner.save(name, content),
    delete: (name) => inner.delete(name),
    path: (name) => inner.path(name),
    url: (name) => inner.url(name),
  };
  return {
    storage,
    calls,
    methods: () => calls.map((call) => call.method),
    get live() {
      return live;
    },
    reset: () => void calls.splice(0),
  };
}

/** A server streaming `storage`'s file named by the request path. */
function serveStorage(storage: Storage): Promise<TestServer> {
  return serve(downloadview(), (ctx) => {
    ctx.body = new StorageFile(storage, decodeURIComponent(ctx.path.slice(1)));
  });
}

describe('streaming backend with FileSystemStorage.openFile', () => {
  let server: TestServer;
  let spy: ReturnType<typeof spyStorage>;
  let dir: string;
  let cleanup: () => Promise<void>;

  before(async () => {
    const tree = await tempTree({
      'hello.txt': HELLO,
      'at-limit.bin': AT_LIMIT,
      'over-limit.bin': OVER_LIMIT,
      'large.bin': LARGE,
      'empty.txt': '',
      'dir/a.txt': 'a',
    });
    dir = tree.dir;
    cleanup = tree.cleanup;
    spy = spyStorage(new FileSystemStorage({ location: dir }));
    server = await serveStorage(spy.storage);
  });
  after(async () => {
    await server.close();
    await cleanup();
  });

  beforeEach(() => spy.reset());
  afterEach(async function () {
    // Every request releases what it opened; only passing tests are checked, to keep failures clear.
    if (this.currentTest?.state !== 'passed') return;
    await until(() => spy.live === 0).catch(() => {
      throw new Error(`${spy.live} opened file(s) never released`);
    });
    await noDescriptorInto(dir);
  });

  const get = (path: string, headers: Record<string, string> = {}, method = 'GET') =>
    request(`${server.url}${path}`, { method, headers });

  describe('small bodies (up to 64 KiB): one read into a Buffer', () => {
    it('sends a small file whole, byte for byte, from one openFile and one read', async () => {
      const res = await get('/hello.txt');
      expect(res.status).to.equal(200);
      expect(res.headers['content-length']).to.equal(String(HELLO.length));
      expect(res.headers['transfer-encoding']).to.equal(undefined);
      expect(res.body.equals(HELLO)).to.equal(true);
      expect(spy.methods()).to.deep.equal(['openFile', 'read']);
      expect(spy.calls[0]).to.deep.include({ whole: true });
      expect(spy.calls[1]).to.deep.include({ range: undefined });
    });

    // `whole` lets a network driver fetch the body with the metadata: only where no
    // precondition or Range can turn the answer into a 304, 412 or part of the file.
    const notWhole: [string, Record<string, string>][] = [
      ['If-None-Match', { 'If-None-Match': '"other"' }],
      ['If-Modified-Since', { 'If-Modified-Since': 'Sat, 01 Jan 2000 00:00:00 GMT' }],
      ['If-Match', { 'If-Match': '*' }],
      ['If-Unmodified-Since', { 'If-Unmodified-Since': 'Fri, 01 Jan 2100 00:00:00 GMT' }],
      ['Range', { Range: 'bytes=0-' }],
    ];
    for (const [header, headers] of notWhole) {
      it(`does not open for a whole read when the GET has ${header}`, async () => {
        const res = await get('/hello.txt', headers);
        expect(res.body.equals(HELLO)).to.equal(true);
        expect(spy.calls[0]).to.deep.include({ method: 'openFile', whole: false });
      });
    }

    it('sends a single range of a small file, byte for byte, with read(range)', async () => {
      const res = await get('/hello.txt', { Range: 'bytes=5-14' });
      expect(res.status).to.equal(206);
      expect(res.headers['content-range']).to.equal(`bytes 5-14/${HELLO.length}`);
      expect(res.headers['content-length']).to.equal('10');
      expect(res.body.equals(HELLO.subarray(5, 15))).to.equal(true);
      expect(spy.calls).to.deep.equal([
        { method: 'openFile', name: 'hello.txt', whole: false },
        { method: 'read', name: 'hello.txt', range: { start: 5, end: 14 } },
      ]);
    });

    it('reads a body of exactly 64 KiB into a Buffer', async () => {
      const res = await get('/at-limit.bin');
      expect(res.headers['content-length']).to.equal(String(LIMIT));
      expect(res.body.equals(AT_LIMIT)).to.equal(true);
      expect(spy.methods()).to.deep.equal(['openFile', 'read']);
    });

    it('sends an empty file as 200 with Content-Length 0 (read() of nothing)', async () => {
      const res = await get('/empty.txt');
      expect([res.status, res.headers['content-length'], res.body.length]).to.deep.equal([
        200,
        '0',
        0,
      ]);
      expect(spy.methods()).to.deep.equal(['openFile', 'read']);
    });

    it('reads a small range of a large file into a Buffer', async () => {
      const res = await get('/large.bin', { Range: 'bytes=500000-500099' });
      expect(res.status).to.equal(206);
      expect(res.headers['content-range']).to.equal(`bytes 500000-500099/${LARGE.length}`);
      expect(res.body.equals(LARGE.subarray(500000, 500100))).to.equal(true);
      expect(spy.methods()).to.deep.equal(['openFile', 'read']);
    });
  });

  describe('large bodies (over 64 KiB): streamed from the opened descriptor', () => {
    it('streams one byte over the limit', async () => {
      const res = await get('/over-limit.bin');
      expect(res.headers['content-length']).to.equal(String(LIMIT + 1));
      expect(res.body.equals(OVER_LIMIT)).to.equal(true);
      expect(spy.methods()).to.deep.equal(['openFile', 'stream']);
    });

    it('sends a 1 MiB file whole, byte for byte', async () => {
      const res = await get('/large.bin');
      expect(res.status).to.equal(200);
      expect(res.aborted).to.equal(false);
      expect(res.headers['content-length']).to.equal(String(LARGE.length));
      expect(res.body.equals(LARGE)).to.equal(true);
      expect(spy.methods()).to.deep.equal(['openFile', 'stream']);
    });

    const ranges: [string, number, number][] = [
      ['bytes=100000-', 100000, LARGE.length - 1],
      ['bytes=-200000', LARGE.length - 200000, LARGE.length - 1],
      ['bytes=1-1000000', 1, 1000000],
    ];
    for (const [range, start, end] of ranges) {
      it(`streams a large single range (${range}) byte for byte`, async () => {
        const res = await get('/large.bin', { Range: range });
        expect(res.status).to.equal(206);
        expect(res.headers['content-range']).to.equal(`bytes ${start}-${end}/${LARGE.length}`);
        expect(res.headers['content-length']).to.equal(String(end - start + 1));
        expect(res.body.equals(LARGE.subarray(start, end + 1))).to.equal(true);
        expect(spy.calls).to.deep.equal([
          { method: 'openFile', name: 'large.bin', whole: false },
          { method: 'stream', name: 'large.bin', range: { start, end } },
        ]);
      });
    }

    it('closes the opened file for multipart ranges and opens each part', async () => {
      const res = await get('/large.bin', { Range: 'bytes=0-9,500000-599999,-10' });
      expect(res.status).to.equal(206);
      expect(Number(res.headers['content-length'])).to.equal(res.body.length);
      const parts = parseMultipart(res.body, res.headers['content-type']!);
      const expected: [number, number][] = [
        [0, 9],
        [500000, 599999],
        [LARGE.length - 10, LARGE.length - 1],
      ];
      expect(parts.map((part) => part.headers['content-range'])).to.deep.equal(
        expected.map(([start, end]) => `bytes ${start}-${end}/${LARGE.length}`),
      );
      parts.forEach((part, i) => {
        const [start, end] = expected[i]!;
        expect(part.body.equals(LARGE.subarray(start, end + 1)), `part ${i}`).to.equal(true);
      });
      expect(spy.methods()).to.deep.equal(['openFile', 'close', 'open', 'open', 'open']);
    });
  });

  describe('HEAD opens nothing', () => {
    for (const [path, size] of [
      ['/hello.txt', HELLO.length],
      ['/large.bin', LARGE.length],
    ] as const) {
      it(`HEAD ${path} stats, and neither opens nor reads`, async () => {
        const res = await get(path, {}, 'HEAD');
        expect(res.status).to.equal(200);
        expect(res.headers['content-length']).to.equal(String(size));
        expect(res.body.length).to.equal(0);
        expect(spy.methods()).to.deep.equal(['stat']);
      });
    }

    it('a ranged HEAD answers 206 and opens nothing', async () => {
      const res = await get('/large.bin', { Range: 'bytes=0-99,200-299' }, 'HEAD');
      expect(res.status).to.equal(206);
      expect(spy.methods()).to.deep.equal(['stat']);
    });
  });

  describe('no body: the opened file is released', () => {
    it('304 for If-None-Match closes the opened file', async () => {
      const { etag } = (await get('/large.bin', {}, 'HEAD')).headers;
      spy.reset();
      const res = await get('/large.bin', { 'If-None-Match': etag! });
      expect(res.status).to.equal(304);
      expect(res.body.length).to.equal(0);
      expect(spy.methods()).to.deep.equal(['openFile', 'close']);
    });

    it('304 for If-Modified-Since closes the opened file', async () => {
      const modified = (await get('/hello.txt', {}, 'HEAD')).headers['last-modified']!;
      spy.reset();
      const res = await get('/hello.txt', { 'If-Modified-Since': modified });
      expect(res.status).to.equal(304);
      expect(spy.methods()).to.deep.equal(['openFile', 'close']);
    });

    it('412 for a failed If-Match closes the opened file', async () => {
      const res = await get('/large.bin', { 'If-Match': '"not-this-one"' });
      expect(res.status).to.equal(412);
      expect(spy.methods()).to.include.members(['openFile', 'close']);
      expect(spy.methods()).not.to.include.members(['read']);
      expect(spy.methods()).not.to.include.members(['stream']);
    });

    it('416 for an unsatisfiable range closes the opened file', async () => {
      const res = await get('/hello.txt', { Range: `bytes=${HELLO.length}-` });
      expect(res.status).to.equal(416);
      expect(res.headers['content-range']).to.equal(`bytes */${HELLO.length}`);
      expect(spy.methods()).to.include.members(['openFile', 'close']);
      expect(spy.methods()).not.to.include.members(['read']);
    });

    it('many 304, 412 and 416 in parallel leave no descriptor open', async () => {
      const etags = {
        '/hello.txt': (await get('/hello.txt', {}, 'HEAD')).headers.etag!,
        '/large.bin': (await get('/large.bin', {}, 'HEAD')).headers.etag!,
      };
      spy.reset();
      const asked = Array.from({ length: 30 }, (_, i) => {
        const path = i % 2 ? '/hello.txt' : '/large.bin';
        const cases: [Record<string, string>, number][] = [
          [{ 'If-None-Match': etags[path] }, 304],
          [{ 'If-Match': '"other"' }, 412],
          [{ Range: 'bytes=99999999-' }, 416],
        ];
        const [headers, status] = cases[i % 3]!;
        return { path, headers, status };
      });
      const answers = await Promise.all(asked.map(({ path, headers }) => get(path, headers)));
      expect(answers.map((res) => res.status)).to.deep.equal(asked.map((a) => a.status));
      expect(spy.methods().filter((m) => m === 'openFile')).to.have.length(30);
      expect(spy.methods().filter((m) => m === 'read' || m === 'stream')).to.deep.equal([]);
    });
  });

  describe('names the storage refuses', () => {
    it('answers 404 for a missing file, a directory and a hostile name, leaving nothing open', async () => {
      for (const path of ['/absent.txt', '/dir', '/..%2Fetc%2Fpasswd', '/a%5C..%5Cb']) {
        const res = await get(path);
        expect(res.status, path).to.equal(404);
      }
    });

    it('answers 404 at once for a FIFO under the root', async function () {
      try {
        await promisify(execFile)('mkfifo', [join(dir, 'pipe')]);
      } catch {
        skipOrFail(this, 'mkfifo is not installed');
      }
      const started = Date.now();
      const res = await get('/pipe');
      expect(res.status).to.equal(404);
      expect(Date.now() - started).to.be.below(2000);
    });
  });

  it('closes the descriptor when the client disconnects mid-download', async () => {
    const tree = await tempTree({ 'huge.bin': randomFile(16 * 1024 * 1024) });
    const own = spyStorage(new FileSystemStorage({ location: tree.dir }));
    const other = await serveStorage(own.storage);
    try {
      const { received } = await leaveMidBody(`${other.url}/huge.bin`);
      expect(received).to.be.greaterThan(0);
      expect(own.methods()).to.deep.equal(['openFile', 'stream']);
      await until(() => own.live === 0);
      await noDescriptorInto(tree.dir);
      await sleep(50);
      expect(other.errors).to.deep.equal([]);
    } finally {
      await other.close();
      await tree.cleanup();
    }
  });
});

describe('streaming backend: a file that shrinks between openFile and read', () => {
  const OLD = Buffer.from('the old version of the file, longer than the new one\n');
  const NEW = Buffer.from('new, shorter\n');

  /**
   * `a.txt` served, then rewritten in place (same inode) after the first open, so the open
   * descriptor sees it shrink.
   */
  async function shrinkingAfterFirstOpen() {
    const tree = await tempTree({ 'a.txt': OLD });
    const path = join(tree.dir, 'a.txt');
    const spy = spyStorage(new FileSystemStorage({ location: tree.dir }), {
      afterOpen: async (_name, attempt) => {
        if (attempt === 1) await writeFile(path, NEW);
      },
    });
    return { tree, spy, server: await serveStorage(spy.storage) };
  }

  it('plans again from the new metadata and sends the new bytes with their length', async () => {
    const { tree, spy, server } = await shrinkingAfterFirstOpen();
    try {
      const res = await request(`${server.url}/a.txt`);
      expect(res.status).to.equal(200);
      expect(res.aborted).to.equal(false);
      expect(res.body.equals(NEW)).to.equal(true);
      expect(res.headers['content-length']).to.equal(String(NEW.length));
      expect(spy.methods()).to.deep.equal(['openFile', 'read', 'close', 'openFile', 'read']);
      expect(spy.live).to.equal(0);
      expect(server.errors).to.deep.equal([]);
      // The validators describe the version sent, not the one first planned from.
      const head = await request(`${server.url}/a.txt`, { method: 'HEAD' });
      expect(res.headers.etag).to.equal(head.headers.etag);
    } finally {
      await server.close();
      await tree.cleanup();
    }
  });

  it('plans a range again: a range the new file no longer has is a 416', async () => {
    const { tree, spy, server } = await shrinkingAfterFirstOpen();
    try {
      const res = await request(`${server.url}/a.txt`, { headers: { Range: 'bytes=20-29' } });
      expect(res.status).to.equal(416);
      expect(res.headers['content-range']).to.equal(`bytes */${NEW.length}`);
      expect(spy.live).to.equal(0);
      await noDescriptorInto(tree.dir);
    } finally {
      await server.close();
      await tree.cleanup();
    }
  });

  it('gives up with 503 on a file that shrinks on every attempt, releasing each descriptor', async () => {
    const tree = await tempTree({ 'a.txt': OLD });
    const path = join(tree.dir, 'a.txt');
    const spy = spyStorage(new FileSystemStorage({ location: tree.dir }), {
      afterOpen: async (_name, attempt) => {
        await writeFile(path, NEW.subarray(0, NEW.length - attempt));
      },
    });
    // Before each open the file is long again, so every read finds it shorter than planned.
    const growing: Storage = {
      ...spy.storage,
      openFile: async (name) => {
        await writeFile(path, OLD);
        return spy.storage.openFile!(name);
      },
    };
    const server = await serveStorage(growing);
    try {
      const res = await request(`${server.url}/a.txt`);
      expect(res.status).to.equal(503);
      expect(res.body.toString()).not.to.include('version');
      expect(spy.methods().filter((m) => m === 'openFile')).to.have.length(3);
      expect(spy.live).to.equal(0);
      expect(server.errors).to.have.length(1);
      expect((server.errors[0] as { cause?: unknown }).cause).to.be.instanceOf(StorageChangedError);
    } finally {
      await server.close();
      await tree.cleanup();
    }
  });
});
