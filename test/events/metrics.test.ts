import { metrics } from '@opentelemetry/api';
import { MeterProvider, MetricReader, type DataPoint } from '@opentelemetry/sdk-metrics';
import { expect } from 'chai';
import conditional from 'koa-conditional-get';
import {
  DOWNLOAD_METRICS,
  downloadview,
  StorageFile,
  type DownloadEvent,
} from '../../src/index.ts';
import { downloadMeters } from '../../src/events/metrics.ts';
import { loadTelemetry } from '../../src/events/telemetry.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { randomFile, tempTree } from '../support/fixtures.ts';
import { request, leaveMidBody } from '../support/http.ts';
import { serve } from '../support/koa.ts';
import { recordingHook } from './support.ts';

// The counters read through the SDK's own pull path (a MetricReader collecting on demand), so
// each test sees exactly what an exporter would be handed, with no export interval to wait for.

class OnDemandReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** Every data point of every download counter, as `name {attributes} = value` lines, sorted. */
async function counted(reader: MetricReader): Promise<string[]> {
  const { resourceMetrics, errors } = await reader.collect();
  expect(errors).to.deep.equal([]);
  const lines: string[] = [];
  for (const scope of resourceMetrics.scopeMetrics) {
    expect(scope.scope.name).to.equal('koa-downloadview');
    for (const metric of scope.metrics) {
      for (const point of metric.dataPoints as DataPoint<number>[]) {
        const attributes = Object.entries(point.attributes)
          .sort(([a], [b]) => a.localeCompare(b))
          .map(([key, value]) => `${key}=${String(value)}`)
          .join(',');
        lines.push(`${metric.descriptor.name} {${attributes}} = ${point.value}`);
      }
    }
  }
  return lines.sort();
}

const BIG = randomFile(200 * 1024);
const HUGE_SIZE = 32 * 1024 * 1024;
const { downloads, bytes, aborts, offloads } = DOWNLOAD_METRICS;

describe('download events: OpenTelemetry metrics, exact counts', () => {
  let reader: OnDemandReader;
  const storage = new MemoryStorage({ files: { 'big.bin': BIG } });

  beforeEach(() => {
    reader = new OnDemandReader();
    expect(metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }))).to.equal(true);
  });
  afterEach(() => metrics.disable());

  /** Downloads `path` once from a streaming app; resolves with the response and the app's events. */
  async function streamed(path: string, headers: Record<string, string> = {}) {
    const recorder = recordingHook();
    const server = await serve(downloadview({ onDownload: recorder.hook }), (ctx) => {
      ctx.body = new StorageFile(storage, ctx.path.slice(1));
    });
    try {
      const res = await request(`${server.url}${path}`, { headers });
      // The counters are added to when the response ends, as the last event is told.
      await recorder.until(res.status >= 400 ? 1 : 2);
      return res;
    } finally {
      await server.close();
    }
  }

  it('a full download: one download, its size in bytes, no abort, no offload', async () => {
    const res = await streamed('/big.bin');
    expect(res.status).to.equal(200);
    expect(await counted(reader)).to.deep.equal([
      `${bytes} {koa_downloadview.backend=stream} = ${BIG.length}`,
      `${downloads} {http.response.status_code=200,koa_downloadview.backend=stream} = 1`,
    ]);
  });

  it('a range: the range’s length', async () => {
    const res = await streamed('/big.bin', { Range: 'bytes=100-1099' });
    expect(res.status).to.equal(206);
    expect(await counted(reader)).to.deep.equal([
      `${bytes} {koa_downloadview.backend=stream} = 1000`,
      `${downloads} {http.response.status_code=206,koa_downloadview.backend=stream} = 1`,
    ]);
  });

  it('several ranges: the whole multipart body, part headers included', async () => {
    const res = await streamed('/big.bin', { Range: 'bytes=0-9,5000-5009' });
    expect(res.status).to.equal(206);
    expect(res.headers['content-type']).to.match(/^multipart\/byteranges/);
    expect(await counted(reader)).to.deep.equal([
      `${bytes} {koa_downloadview.backend=stream} = ${res.body.length}`,
      `${downloads} {http.response.status_code=206,koa_downloadview.backend=stream} = 1`,
    ]);
  });

  it('a 304: a download of no bytes', async () => {
    const first = await streamed('/big.bin');
    const etag = String(first.headers.etag);
    const res = await streamed('/big.bin', { 'If-None-Match': etag });
    expect(res.status).to.equal(304);
    expect(await counted(reader)).to.deep.equal([
      `${bytes} {koa_downloadview.backend=stream} = ${BIG.length}`,
      `${downloads} {http.response.status_code=200,koa_downloadview.backend=stream} = 1`,
      `${downloads} {http.response.status_code=304,koa_downloadview.backend=stream} = 1`,
    ]);
  });

  it('a refusal (404): a download with its status and no backend', async () => {
    const res = await streamed('/missing.bin');
    expect(res.status).to.equal(404);
    expect(await counted(reader)).to.deep.equal([
      `${downloads} {http.response.status_code=404} = 1`,
    ]);
  });

  it('a client that leaves mid-body: one abort, and the bytes written before it left', async () => {
    const tree = await tempTree({ 'huge.bin': randomFile(HUGE_SIZE) });
    const files = new FileSystemStorage({ location: tree.dir });
    const recorder = recordingHook();
    const server = await serve(downloadview({ onDownload: recorder.hook }), (ctx) => {
      ctx.body = new StorageFile(files, 'huge.bin');
    });
    try {
      await leaveMidBody(`${server.url}/`);
      const [, end] = await recorder.until(2);
      const abort = end as Extract<DownloadEvent, { type: 'abort' }>;
      expect(abort.type).to.equal('abort');
      expect(abort.bytes).to.be.above(0).and.below(HUGE_SIZE);
      expect(await counted(reader)).to.deep.equal([
        `${aborts} {koa_downloadview.backend=stream} = 1`,
        `${bytes} {koa_downloadview.backend=stream} = ${abort.bytes}`,
        `${downloads} {http.response.status_code=200,koa_downloadview.backend=stream} = 1`,
      ]);
    } finally {
      await server.close();
      await tree.cleanup();
    }
  });

  it('an offload: one download and one offload for its backend, no bytes of the app', async () => {
    const tree = await tempTree({ 'a.bin': BIG });
    const files = new FileSystemStorage({ location: tree.dir });
    const recorder = recordingHook();
    const view = downloadview({
      backend: 'nginx',
      rules: [{ sourceDir: tree.dir, destinationUrl: '/protected/' }],
      onDownload: recorder.hook,
    });
    const server = await serve(view, (ctx) => {
      ctx.body = new StorageFile(files, 'a.bin');
    });
    try {
      const res = await request(`${server.url}/`);
      expect(res.headers['x-accel-redirect']).to.equal('/protected/a.bin');
      await recorder.until(2);
      expect(await counted(reader)).to.deep.equal([
        `${downloads} {http.response.status_code=200,koa_downloadview.backend=nginx} = 1`,
        `${offloads} {koa_downloadview.backend=nginx} = 1`,
      ]);
    } finally {
      await server.close();
      await tree.cleanup();
    }
  });

  // koa-conditional-get, stacked before downloadview(), turns the fresh offload answer into a 304:
  // the offload header is then dropped, and nothing is handed to the proxy.
  it('a 304 for an offloadable file: a download of its backend, not an offload', async () => {
    const tree = await tempTree({ 'a.bin': BIG });
    const files = new FileSystemStorage({ location: tree.dir });
    const recorder = recordingHook();
    const view = downloadview({
      backend: 'nginx',
      rules: [{ sourceDir: tree.dir, destinationUrl: '/protected/' }],
      onDownload: recorder.hook,
    });
    const server = await serve(conditional(), view, (ctx) => {
      ctx.body = new StorageFile(files, 'a.bin');
    });
    try {
      const first = await request(`${server.url}/`);
      const etag = first.headers.etag;
      expect(etag, 'the offload answer carries the validator').to.be.a('string');
      await recorder.until(2);
      const again = await request(`${server.url}/`, { headers: { 'if-none-match': String(etag) } });
      expect(again.status).to.equal(304);
      expect(again.headers['x-accel-redirect']).to.equal(undefined);
      await recorder.until(4);
      expect(await counted(reader)).to.deep.equal([
        `${downloads} {http.response.status_code=200,koa_downloadview.backend=nginx} = 1`,
        `${downloads} {http.response.status_code=304,koa_downloadview.backend=nginx} = 1`,
        `${offloads} {koa_downloadview.backend=nginx} = 1`,
      ]);
    } finally {
      await server.close();
      await tree.cleanup();
    }
  });

  it('telemetry: false counts nothing, even with an SDK registered', async () => {
    const server = await serve(downloadview({ telemetry: false }), (ctx) => {
      ctx.body = new StorageFile(storage, 'big.bin');
    });
    try {
      expect((await request(`${server.url}/`)).status).to.equal(200);
    } finally {
      await server.close();
    }
    expect(await counted(reader)).to.deep.equal([]);
  });
});

describe('download events: the meters, with and without an SDK', () => {
  afterEach(() => metrics.disable());

  it('none with the API but no registered provider, so downloads skip counting', async () => {
    metrics.disable();
    expect(await loadTelemetry()).to.equal(true);
    expect(downloadMeters()).to.equal(undefined);
  });

  it('made again for a provider registered (or replaced) after the first download', async () => {
    expect(await loadTelemetry()).to.equal(true);
    expect(downloadMeters()).to.equal(undefined);
    const reader = new OnDemandReader();
    metrics.setGlobalMeterProvider(new MeterProvider({ readers: [reader] }));
    const meters = downloadMeters();
    expect(meters).not.to.equal(undefined);
    expect(downloadMeters()).to.equal(meters);
    meters!.downloads.add(1);
    expect(await counted(reader)).to.deep.equal([`${downloads} {} = 1`]);
  });
});
