import { SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { DOWNLOAD_SPAN_NAME, downloadview, StorageFile } from '../../src/index.ts';
import { StorageUnavailableError } from '../../src/errors.ts';
import type { Storage } from '../../src/storage.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { HELLO, randomFile, tempTree } from '../support/fixtures.ts';
import { request, leaveMidBody } from '../support/http.ts';
import { serve } from '../support/koa.ts';
import { recordingHook } from './support.ts';

const BIG = randomFile(200 * 1024);

/** The spans finished so far, once `count` of them are there. */
async function spans(exporter: InMemorySpanExporter, count = 1): Promise<ReadableSpan[]> {
  const deadline = Date.now() + 3000;
  while (exporter.getFinishedSpans().length < count) {
    if (Date.now() > deadline) throw new Error(`${count} spans expected`);
    await sleep(5);
  }
  return exporter.getFinishedSpans();
}

describe('download events: OpenTelemetry spans', () => {
  let exporter: InMemorySpanExporter;
  const storage = new MemoryStorage({ files: { 'hello.txt': HELLO, 'big.bin': BIG } });

  beforeEach(() => {
    exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    expect(trace.setGlobalTracerProvider(provider)).to.equal(true);
  });
  afterEach(() => trace.disable());

  async function download(path: string, headers: Record<string, string> = {}, options = {}) {
    const server = await serve(downloadview(options), (ctx) => {
      ctx.body = new StorageFile(storage, ctx.path.slice(1));
    });
    try {
      return await request(`${server.url}${path}`, { headers });
    } finally {
      await server.close();
    }
  }

  it('one span per download, with HTTP semantic-convention and library attributes', async () => {
    await download('/big.bin');
    const [span] = await spans(exporter);
    expect(span?.name).to.equal(DOWNLOAD_SPAN_NAME);
    expect(span?.kind).to.equal(SpanKind.INTERNAL);
    expect(span?.instrumentationScope.name).to.equal('koa-downloadview');
    expect(span?.attributes).to.deep.equal({
      'http.request.method': 'GET',
      'url.path': '/big.bin',
      'http.response.status_code': 200,
      'koa_downloadview.backend': 'stream',
      'koa_downloadview.storage.driver': 'memory',
      'koa_downloadview.bytes': BIG.length,
      'koa_downloadview.aborted': false,
    });
    expect(span?.status.code).to.equal(SpanStatusCode.UNSET);
    expect(span?.ended).to.equal(true);
  });

  it('a range download carries the Range asked and its byte count', async () => {
    await download('/big.bin', { Range: 'bytes=0-99,1000-1099' });
    const [span] = await spans(exporter);
    expect(span?.attributes).to.include({
      'koa_downloadview.ranges': 'bytes=0-99,1000-1099',
      'http.response.status_code': 206,
    });
  });

  it('a 404 is a span with the status and the storage code as error.type, not a failure', async () => {
    const res = await download('/missing.bin');
    expect(res.status).to.equal(404);
    const [span] = await spans(exporter);
    expect(span?.attributes).to.include({
      'http.response.status_code': 404,
      'error.type': 'ERR_STORAGE_NOT_FOUND',
    });
    expect(span?.status.code).to.equal(SpanStatusCode.UNSET);
  });

  it('a storage that is unavailable (503) marks the span failed', async () => {
    const down: Storage = {
      driver: 'flaky',
      stat: () => Promise.reject(new StorageUnavailableError('flaky', 'connection refused')),
      open: () => Promise.reject(new StorageUnavailableError('flaky', 'connection refused')),
    };
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new StorageFile(down, 'a.bin');
    });
    try {
      expect((await request(`${server.url}/`)).status).to.equal(503);
    } finally {
      await server.close();
    }
    const [span] = await spans(exporter);
    expect(span?.attributes).to.include({ 'http.response.status_code': 503 });
    expect(span?.status.code).to.equal(SpanStatusCode.ERROR);
    expect(span?.events.map((event) => event.name)).to.deep.equal(['exception']);
  });

  it('a client that leaves mid-body ends the span with aborted and the bytes sent', async () => {
    const size = 32 * 1024 * 1024;
    const tree = await tempTree({ 'huge.bin': randomFile(size) });
    const files = new FileSystemStorage({ location: tree.dir });
    const server = await serve(downloadview(), (ctx) => {
      ctx.body = new StorageFile(files, 'huge.bin');
    });
    try {
      await leaveMidBody(`${server.url}/`);
      const [span] = await spans(exporter);
      expect(span?.attributes['koa_downloadview.aborted']).to.equal(true);
      expect(span?.attributes['koa_downloadview.bytes']).to.be.above(0).and.below(size);
      expect(span?.status.code).to.equal(SpanStatusCode.UNSET);
    } finally {
      await server.close();
      await tree.cleanup();
    }
  });

  it('an offloaded download names its backend and has no byte count', async () => {
    const tree = await tempTree({ 'a.bin': HELLO });
    const files = new FileSystemStorage({ location: tree.dir });
    const view = downloadview({
      backend: 'nginx',
      rules: [{ sourceDir: tree.dir, destinationUrl: '/protected/' }],
    });
    const server = await serve(view, (ctx) => {
      ctx.body = new StorageFile(files, 'a.bin');
    });
    try {
      await request(`${server.url}/`);
      const [span] = await spans(exporter);
      expect(span?.attributes).to.include({
        'koa_downloadview.backend': 'nginx',
        'koa_downloadview.storage.driver': 'filesystem',
        'koa_downloadview.aborted': false,
      });
      expect(span?.attributes).not.to.have.property('koa_downloadview.bytes');
    } finally {
      await server.close();
      await tree.cleanup();
    }
  });

  it('telemetry: false records nothing, even with an SDK registered', async () => {
    const res = await download('/hello.txt', {}, { telemetry: false });
    expect(res.status).to.equal(200);
    await sleep(50);
    expect(exporter.getFinishedSpans()).to.deep.equal([]);
  });

  it('a hook and a span see the same download', async () => {
    const recorder = recordingHook();
    await download('/big.bin', {}, { onDownload: recorder.hook });
    const [span] = await spans(exporter);
    const [, end] = await recorder.until(2);
    expect(end?.type).to.equal('complete');
    expect(span?.attributes['koa_downloadview.bytes']).to.equal(BIG.length);
  });
});

describe('download events: OpenTelemetry without an SDK', () => {
  it('with the API but no registered provider, downloads work and nothing is recorded', async () => {
    trace.disable();
    const storage = new MemoryStorage({ files: { 'big.bin': BIG } });
    const recorder = recordingHook();
    const server = await serve(downloadview({ onDownload: recorder.hook }), (ctx) => {
      ctx.body = new StorageFile(storage, 'big.bin');
    });
    try {
      const res = await request(`${server.url}/`);
      expect(Buffer.compare(res.body, BIG)).to.equal(0);
      await recorder.until(2);
      expect(server.errors).to.deep.equal([]);
    } finally {
      await server.close();
    }
  });
});
