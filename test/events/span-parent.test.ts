import { context, SpanKind, trace, type Span } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { expect } from 'chai';
import type { Context, Next } from 'koa';
import { setTimeout as sleep } from 'node:timers/promises';
import { DOWNLOAD_SPAN_NAME, downloadview, StorageFile } from '../../src/index.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { HELLO } from '../support/fixtures.ts';
import { request } from '../support/http.ts';
import { serve } from '../support/koa.ts';

// What an app with the HTTP instrumentation has: a context manager that follows async calls,
// and a server span made active around the request. The request span is made here by a small
// middleware, the way the instrumentation does it, so the test needs no instrumentation package.

describe('download events: the download span under the request span', () => {
  const exporter = new InMemorySpanExporter();
  const contextManager = new AsyncLocalStorageContextManager();
  const storage = new MemoryStorage({ files: { 'hello.txt': HELLO } });

  before(() => {
    expect(context.setGlobalContextManager(contextManager.enable())).to.equal(true);
    const provider = new BasicTracerProvider({
      spanProcessors: [new SimpleSpanProcessor(exporter)],
    });
    expect(trace.setGlobalTracerProvider(provider)).to.equal(true);
  });
  after(() => {
    trace.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  /** Serves hello.txt; with `requestSpan`, each request runs inside a server span of its own. */
  async function download(requestSpan: boolean): Promise<Span | undefined> {
    let parent: Span | undefined;
    const asServerSpan = async (_ctx: Context, next: Next) => {
      if (!requestSpan) return next();
      parent = trace.getTracer('test-http').startSpan('GET', { kind: SpanKind.SERVER });
      try {
        await context.with(trace.setSpan(context.active(), parent), next);
      } finally {
        parent.end();
      }
    };
    const server = await serve(asServerSpan, downloadview(), (ctx) => {
      ctx.body = new StorageFile(storage, 'hello.txt');
    });
    try {
      expect((await request(`${server.url}/`)).status).to.equal(200);
    } finally {
      await server.close();
    }
    return parent;
  }

  async function downloadSpan() {
    for (let i = 0; i < 300; i++) {
      const found = exporter.getFinishedSpans().find((span) => span.name === DOWNLOAD_SPAN_NAME);
      if (found) return found;
      await sleep(10);
    }
    throw new Error('no download span was recorded');
  }

  it('is a child of the active request span, in its trace', async () => {
    const parent = await download(true);
    const span = await downloadSpan();
    expect(span.spanContext().traceId).to.equal(parent!.spanContext().traceId);
    expect(span.parentSpanContext?.spanId).to.equal(parent!.spanContext().spanId);
  });

  it('is a root span when the request has none', async () => {
    await download(false);
    const span = await downloadSpan();
    expect(span.parentSpanContext).to.equal(undefined);
  });
});
