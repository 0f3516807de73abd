import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { expect } from 'chai';
import { createHash, randomBytes } from 'node:crypto';
import { setImmediate as tick } from 'node:timers/promises';
import { VirtualFile } from '../../src/index.ts';
import { S3Storage } from '../../storages/s3.ts';
import { startS3Server, type S3TestServer } from '../../support/s3-server.ts';
import { request } from '../support/http.ts';
import { gate, materializingApp, type MaterializingApp } from './support.ts';

// materialize() into a real S3-protocol server (s3rver over HTTP): S3 writes an object whole
// or not at all (a single PUT, or a multipart upload completed or aborted), so the copy needs
// no temporary name there.

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const REPORT = randomBytes(200 * 1024);

async function* chunks(before?: Promise<void>, failAt?: number): AsyncGenerator<Buffer> {
  await before;
  for (let at = 0; at < REPORT.length; at += 32 * 1024) {
    if (failAt !== undefined && at >= failAt) throw new Error('generation failed');
    yield REPORT.subarray(at, at + 32 * 1024);
    await tick();
  }
}

describe('materialize() into S3Storage over a real S3-protocol server', function () {
  let s3: S3TestServer;
  let client: S3Client;
  let app: MaterializingApp | undefined;
  let prefix = 0;

  before(async () => {
    s3 = await startS3Server('materialize');
    client = s3.client();
  });
  after(async () => {
    client.destroy();
    await s3.stop();
  });
  afterEach(async () => {
    await app?.close();
    app = undefined;
  });

  /** A storage under its own prefix per test, so listings see only that test's objects. */
  function freshStorage(): { storage: S3Storage; keys: () => Promise<string[]> } {
    const Prefix = `t${++prefix}/`;
    const storage = new S3Storage({ client, bucket: s3.bucket, prefix: Prefix });
    const keys = async () => {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: s3.bucket, Prefix }));
      return (listed.Contents ?? []).map((object) => object.Key!.slice(Prefix.length)).sort();
    };
    return { storage, keys };
  }

  it('4 concurrent first requests: one generation, identical bytes; later ones reuse it', async function () {
    const { storage, keys } = freshStorage();
    const allArrived = gate();
    app = await materializingApp(
      storage,
      () => new VirtualFile(chunks(allArrived.opened), { name: 'r.bin' }),
    );
    const server = app;
    const answers = Array.from({ length: 4 }, () => request(`${server.url}/report/r1`));
    while (server.arrivals < 4) await tick();
    allArrived.open();
    const results = [...(await Promise.all(answers)), await request(`${server.url}/report/r1`)];
    expect(results.map((r) => r.status)).to.deep.equal([200, 200, 200, 200, 200]);
    expect(new Set(results.map((r) => sha256(r.body)))).to.deep.equal(new Set([sha256(REPORT)]));
    expect(server.generations).to.equal(1);
    expect(await keys()).to.deep.equal(['r1', 'r1.materialized.json']);
  });

  it('a generation that fails mid-stream leaves no object in the bucket', async function () {
    const { storage, keys } = freshStorage();
    app = await materializingApp(
      storage,
      () => new VirtualFile(chunks(undefined, 100 * 1024), { name: 'r.bin' }),
    );
    const res = await request(`${app.url}/report/r1`);
    expect(res.status).to.equal(500);
    expect(await keys()).to.deep.equal([]);
  });
});
