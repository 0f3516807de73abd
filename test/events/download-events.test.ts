import { expect } from 'chai';
import { Readable } from 'node:stream';
import { downloadview, DownloadHookError, StorageFile, VirtualFile } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { HELLO, randomFile, tempTree } from '../support/fixtures.ts';
import { request, leaveMidBody, sentWithoutLength } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';
import { eventOf, recordingHook, type RecordingHook } from './support.ts';

/** 200 KiB: streamed (over the 64 KiB kept in memory), in several chunks. */
const BIG = randomFile(200 * 1024);

describe('download events: onDownload through real HTTP', () => {
  let server: TestServer;
  let recorder: RecordingHook;
  const storage = new MemoryStorage({ files: { 'hello.txt': HELLO, 'big.bin': BIG } });

  beforeEach(async () => {
    recorder = recordingHook();
    server = await serve(downloadview({ onDownload: recorder.hook, telemetry: false }), (ctx) => {
      if (ctx.path === '/nothing') return;
      ctx.body = new StorageFile(storage, ctx.path.slice(1));
    });
  });
  afterEach(() => server.close());

  it('a full download tells start, then complete with every byte, the status and the backend', async () => {
    const res = await request(`${server.url}/big.bin`);
    expect(res.status).to.equal(200);
    const [start, end] = await recorder.until(2);
    expect(recorder.types()).to.deep.equal(['start', 'complete']);
    expect(start).to.include({ type: 'start', backend: 'stream', method: 'GET', status: 200 });
    expect(start).to.include({ filename: 'big.bin', path: '/big.bin', range: undefined });
    expect(start).to.include({ expectedBytes: BIG.length });
    expect(start?.source).to.deep.equal({ driver: 'memory', name: 'big.bin' });
    const complete = eventOf(recorder.events, 'complete');
    expect(complete).to.include({
      status: 200,
      bytes: BIG.length,
      complete: true,
      backend: 'stream',
    });
    expect(complete.durationMs).to.be.a('number').and.be.at.least(0);
    expect(end?.ctx).to.equal(start?.ctx);
    expect(server.errors).to.deep.equal([]);
  });

  it('a small file (sent as one Buffer) is counted too', async () => {
    await request(`${server.url}/hello.txt`);
    await recorder.until(2);
    expect(eventOf(recorder.events, 'complete')).to.include({
      bytes: HELLO.length,
      complete: true,
    });
  });

  it('a range reports the Range asked, 206, and the bytes of the range', async () => {
    const res = await request(`${server.url}/big.bin`, { headers: { Range: 'bytes=100-70099' } });
    expect(res.status).to.equal(206);
    await recorder.until(2);
    expect(eventOf(recorder.events, 'start')).to.include({ range: 'bytes=100-70099', status: 206 });
    const complete = eventOf(recorder.events, 'complete');
    expect(complete).to.include({
      status: 206,
      bytes: 70000,
      expectedBytes: 70000,
      complete: true,
    });
    expect(complete.range).to.equal('bytes=100-70099');
  });

  it('a multi-range answer counts its whole multipart body, framing included', async () => {
    const range = 'bytes=0-9,100000-100099';
    const res = await request(`${server.url}/big.bin`, { headers: { Range: range } });
    expect(res.status).to.equal(206);
    expect(res.headers['content-type']).to.match(/^multipart\/byteranges/);
    await recorder.until(2);
    const complete = eventOf(recorder.events, 'complete');
    expect(complete).to.include({ bytes: res.body.length, expectedBytes: res.body.length });
    expect(complete).to.include({ complete: true, range });
  });

  it('HEAD completes with no body byte, and expects none', async () => {
    const res = await request(`${server.url}/big.bin`, { method: 'HEAD' });
    expect(res.status).to.equal(200);
    await recorder.until(2);
    expect(eventOf(recorder.events, 'start')).to.include({ method: 'HEAD', expectedBytes: 0 });
    const complete = eventOf(recorder.events, 'complete');
    expect(complete).to.include({ method: 'HEAD', status: 200, bytes: 0, complete: true });
  });

  it('304 completes with status 304 and no body byte', async () => {
    const first = await request(`${server.url}/big.bin`);
    await recorder.until(2);
    recorder.events.length = 0;
    const etag = String(first.headers.etag);
    const res = await request(`${server.url}/big.bin`, { headers: { 'If-None-Match': etag } });
    expect(res.status).to.equal(304);
    await recorder.until(2);
    expect(recorder.types()).to.deep.equal(['start', 'complete']);
    expect(eventOf(recorder.events, 'complete')).to.include({
      status: 304,
      bytes: 0,
      complete: true,
    });
  });

  it('a missing file tells one error event (404), no start and no completion', async () => {
    const res = await request(`${server.url}/missing.bin`);
    expect(res.status).to.equal(404);
    await recorder.until(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(recorder.types()).to.deep.equal(['error']);
    const error = eventOf(recorder.events, 'error');
    expect(error).to.include({ status: 404, filename: 'missing.bin' });
    expect(error.error).to.be.instanceOf(Error);
  });

  it('a range that cannot be satisfied tells one error event (416)', async () => {
    const res = await request(`${server.url}/hello.txt`, { headers: { Range: 'bytes=999-' } });
    expect(res.status).to.equal(416);
    await recorder.until(1);
    expect(recorder.types()).to.deep.equal(['error']);
    expect(eventOf(recorder.events, 'error')).to.include({ status: 416, range: 'bytes=999-' });
  });

  it('a route that answers without a DownloadFile tells nothing', async () => {
    const res = await request(`${server.url}/nothing`);
    expect(res.status).to.equal(404);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(recorder.events).to.deep.equal([]);
  });
});

describe('download events: generated bodies', () => {
  it('a stream of unknown length (chunked) is counted as sent, and complete', async () => {
    const recorder = recordingHook();
    const view = downloadview({ onDownload: recorder.hook, telemetry: false });
    const server = await serve(view, (ctx) => {
      const chunks = Readable.from([Buffer.from('abc'), Buffer.from('defg')]);
      ctx.body = new VirtualFile(chunks, { name: 'gen.txt' });
    });
    try {
      const res = await request(`${server.url}/`);
      expect(res.body.toString()).to.equal('abcdefg');
      expect(sentWithoutLength(res)).to.equal(true);
      const [, end] = await recorder.until(2);
      expect(end).to.include({ type: 'complete', bytes: 7, expectedBytes: undefined });
      expect(end).to.include({ complete: true });
    } finally {
      await server.close();
    }
  });
});

describe('download events: client abort', () => {
  it('reports abort at a byte count between what the client read and the size', async () => {
    const size = 32 * 1024 * 1024;
    const tree = await tempTree({ 'huge.bin': randomFile(size) });
    const recorder = recordingHook();
    const storage = new FileSystemStorage({ location: tree.dir });
    const server = await serve(
      downloadview({ onDownload: recorder.hook, telemetry: false }),
      (ctx) => {
        ctx.body = new StorageFile(storage, 'huge.bin');
      },
    );
    try {
      const { received } = await leaveMidBody(`${server.url}/`, { afterBytes: 1024 * 1024 });
      await recorder.until(2);
      expect(recorder.types()).to.deep.equal(['start', 'abort']);
      const abort = eventOf(recorder.events, 'abort');
      expect(abort).to.include({ complete: false, status: 200, expectedBytes: size });
      expect(abort.bytes).to.be.at.least(received).and.below(size);
      expect(server.errors).to.deep.equal([]);
    } finally {
      await server.close();
      await tree.cleanup();
    }
  });
});

describe('download events: offload hand-off', () => {
  it('an nginx hand-off tells start, then offload with the header and its value', async () => {
    const tree = await tempTree({ 'report 1.pdf': HELLO });
    const recorder = recordingHook();
    const storage = new FileSystemStorage({ location: tree.dir });
    const view = downloadview({
      backend: 'nginx',
      rules: [{ sourceDir: tree.dir, destinationUrl: '/protected/' }],
      onDownload: recorder.hook,
      telemetry: false,
    });
    const server = await serve(view, (ctx) => {
      ctx.body = new StorageFile(storage, 'report 1.pdf');
    });
    try {
      const res = await request(`${server.url}/`);
      expect(res.headers['x-accel-redirect']).to.equal('/protected/report%201.pdf');
      await recorder.until(2);
      expect(recorder.types()).to.deep.equal(['start', 'offload']);
      expect(eventOf(recorder.events, 'start')).to.include({
        backend: 'nginx',
        expectedBytes: undefined,
      });
      const offload = eventOf(recorder.events, 'offload');
      expect(offload).to.include({ backend: 'nginx', status: 200, complete: true });
      expect(offload.handoff).to.deep.equal({
        header: 'X-Accel-Redirect',
        value: '/protected/report%201.pdf',
      });
    } finally {
      await server.close();
      await tree.cleanup();
    }
  });
});

describe('download events: a failing hook', () => {
  for (const [label, hook] of [
    [
      'throws',
      () => {
        throw new Error('audit log is full');
      },
    ],
    ['rejects', () => Promise.reject(new Error('audit log is full'))],
  ] as const) {
    it(`a hook that ${label} never breaks the download; each failure is reported once`, async () => {
      const server = await serve(downloadview({ onDownload: hook, telemetry: false }), (ctx) => {
        ctx.body = new VirtualFile(BIG, { name: 'big.bin' });
      });
      try {
        const res = await request(`${server.url}/`);
        expect(res.status).to.equal(200);
        expect(res.aborted).to.equal(false);
        expect(Buffer.compare(res.body, BIG)).to.equal(0);
        const deadline = Date.now() + 2000;
        while (server.errors.length < 2 && Date.now() < deadline) {
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
        // start and complete: one report each.
        expect(server.errors).to.have.length(2);
        const [first, second] = server.errors as DownloadHookError[];
        expect(first).to.be.instanceOf(DownloadHookError);
        expect(first).to.include({ code: 'ERR_DOWNLOAD_HOOK', event: 'start' });
        expect(second).to.include({ event: 'complete' });
        expect((first?.cause as Error).message).to.equal('audit log is full');
      } finally {
        await server.close();
      }
    });
  }
});

describe('download events: options', () => {
  it('onDownload must be a function, telemetry a boolean: checked at start-up', () => {
    expect(() => downloadview({ onDownload: 'log' as never })).to.throw(TypeError, /"onDownload"/);
    expect(() => downloadview({ telemetry: 'off' as never })).to.throw(TypeError, /"telemetry"/);
    expect(() => downloadview({ onDownload: undefined, telemetry: false })).not.to.throw();
  });
});
