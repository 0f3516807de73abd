import { expect } from 'chai';
import { connect, constants, createServer, type Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { downloadview, StorageFile } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { randomFile, tempTree } from '../support/fixtures.ts';
import { createApp } from '../support/koa.ts';
import { eventOf, recordingHook } from './support.ts';

const BIG = randomFile(4 * 1024 * 1024);
const SMALL = 'sent by Koa as one Buffer\n';

/** One GET over h2c; `cancel`: the client resets the stream after the first body chunk. */
function get(port: number, path: string, cancel = false): Promise<Buffer> {
  const session = connect(`http://127.0.0.1:${port}`);
  return new Promise<Buffer>((resolve, reject) => {
    const req = session.request({ ':method': 'GET', ':path': path });
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (cancel && chunks.length === 1) req.close(constants.NGHTTP2_CANCEL);
    });
    req.on('close', () => resolve(Buffer.concat(chunks)));
    req.on('error', (err) => (cancel ? undefined : reject(err)));
    req.end();
  }).finally(() => session.close());
}

describe('download events over HTTP/2 (h2c, compatibility API)', () => {
  const recorder = recordingHook();
  const errors: Error[] = [];
  let server: Http2Server;
  let port: number;
  let cleanup: () => Promise<void>;

  before(async () => {
    // Read from disk in 64 KiB chunks: a reset stream stops the body part-way.
    const tree = await tempTree({ 'big.bin': BIG, 'small.txt': SMALL });
    cleanup = tree.cleanup;
    const storage = new FileSystemStorage({ location: tree.dir });
    const app = createApp();
    app.on('error', (err: Error) => errors.push(err));
    app.use(downloadview({ onDownload: recorder.hook, telemetry: false }));
    app.use((ctx) => {
      ctx.body = new StorageFile(storage, ctx.path.slice(1));
    });
    server = createServer(app.callback());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  beforeEach(() => (recorder.events.length = 0));
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await cleanup();
  });

  it('a full download completes with every byte counted', async () => {
    const body = await get(port, '/big.bin');
    expect(body.length).to.equal(BIG.length);
    await recorder.until(2);
    expect(recorder.types()).to.deep.equal(['start', 'complete']);
    expect(eventOf(recorder.events, 'complete')).to.include({ bytes: BIG.length, complete: true });
  });

  it('a small file, which Koa ends the response with, is counted once', async () => {
    // Http2ServerResponse.end(chunk) writes the chunk through its own write().
    const body = await get(port, '/small.txt');
    expect(body.toString()).to.equal(SMALL);
    await recorder.until(2);
    expect(eventOf(recorder.events, 'complete')).to.include({ bytes: SMALL.length });
  });

  it('a stream reset by the client is an abort, short of the size', async () => {
    const body = await get(port, '/big.bin', true);
    await recorder.until(2);
    expect(recorder.types()).to.deep.equal(['start', 'abort']);
    const abort = eventOf(recorder.events, 'abort');
    expect(abort.bytes).to.be.at.least(body.length).and.below(BIG.length);
    expect(errors).to.deep.equal([]);
  });
});
