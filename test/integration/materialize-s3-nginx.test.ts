import type { S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { VirtualFile, type OpenedFile, type OpenFileOptions } from '../../src/index.ts';
import { METADATA_SUFFIX } from '../../src/materialize/metadata.ts';
import type { ByteRange, OpenOptions } from '../../src/storage.ts';
import { S3Storage } from '../../storages/s3.ts';
import { startS3Server, type S3TestServer } from '../../support/s3-server.ts';
import { request } from '../support/http.ts';
import { gate, materializingApp, type MaterializingApp } from '../materialize/support.ts';
import { requireBinary } from './support/require-binary.ts';
import { startProxy, type RunningProxy } from './support/proxies.ts';

// materialize() into S3 (s3rver) behind real nginx: the copy is an object, offloaded to
// nginx's /remote/ location with a presigned URL (docs/proxies/nginx.conf), which nginx
// fetches itself. The app reads the metadata record from S3, never the copy's bytes.

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const REPORT = randomBytes(700 * 1024 + 5);

class ReadCountingS3Storage extends S3Storage {
  copyReads = 0;
  override async open(name: string, range?: ByteRange, options?: OpenOptions): Promise<Readable> {
    if (!name.endsWith(METADATA_SUFFIX)) this.copyReads++;
    return super.open(name, range, options);
  }
  override async openFile(name: string, options?: OpenFileOptions): Promise<OpenedFile> {
    if (!name.endsWith(METADATA_SUFFIX)) this.copyReads++;
    return super.openFile(name, options);
  }
}

async function* chunks(before: Promise<void>): AsyncGenerator<Buffer> {
  await before;
  for (let at = 0; at < REPORT.length; at += 64 * 1024) {
    yield REPORT.subarray(at, at + 64 * 1024);
    await tick();
  }
}

describe('materialize() into S3 (s3rver) behind real nginx, offloaded to /remote/', function () {
  let s3: S3TestServer | undefined;
  let client: S3Client | undefined;
  let filesDir: string | undefined;
  let storage: ReadCountingS3Storage;
  let app: MaterializingApp | undefined;
  let proxy: RunningProxy | undefined;
  const allArrived = gate();

  before(async function () {
    requireBinary(this, 'nginx');
    s3 = await startS3Server('materialize-nginx');
    client = s3.client();
    storage = new ReadCountingS3Storage({ client, bucket: s3.bucket, prefix: 'cache/' });
    app = await materializingApp(
      storage,
      () => new VirtualFile(chunks(allArrived.opened), { name: 'Q3 report.bin' }),
      {
        downloadview: {
          backend: 'nginx',
          rules: [{ sourceUrl: `${s3.endpoint}/${s3.bucket}/`, destinationUrl: '/remote/' }],
        },
      },
    );
    // The /protected/ location needs a files directory; nothing here is served from disk.
    filesDir = await mkdtemp(join(tmpdir(), 'kdv-materialize-s3-'));
    await chmod(filesDir, 0o755);
    proxy = await startProxy('nginx', { upstreamPort: Number(new URL(app.url).port), filesDir });
  });
  after(async () => {
    await proxy?.stop();
    await app?.close();
    client?.destroy();
    await s3?.stop();
    if (filesDir) await rm(filesDir, { recursive: true, force: true });
  });

  it('5 concurrent first clients and a later one: one generation, bytes fetched by nginx', async function () {
    const answers = Array.from({ length: 5 }, () => request(`${proxy!.url}/report/r1`));
    while (app!.arrivals < 5) await tick();
    allArrived.open();
    const results = [...(await Promise.all(answers)), await request(`${proxy!.url}/report/r1`)];
    for (const res of results) {
      expect([res.status, res.aborted]).to.deep.equal([200, false]);
      expect(sha256(res.body)).to.equal(sha256(REPORT));
      expect(res.headers['content-disposition']).to.equal('attachment; filename="Q3 report.bin"');
      expect(res.headers['x-offload-url']).to.equal(undefined);
    }
    expect(app!.generations).to.equal(1);
    expect(storage.copyReads).to.equal(0);
  });
});
