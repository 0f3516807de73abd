// Peak RSS growth of the process while S3Storage.save() stores a generated stream in s3rver.
//
//   npx tsx bench/s3-save-rss.ts                  # both approaches, in a fresh process each
//   npx tsx bench/s3-save-rss.ts multipart 1024   # one run: approach and size in MiB
//
// `multipart` is save() as shipped (lib-storage Upload, default 8 MiB parts, 4 at a time);
// `buffered` is the approach it replaced: collect the content, then one PutObject. s3rver runs
// in a child process, so its own memory is not counted.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { contentBytes } from '../src/storage-content.ts';
import { S3Storage } from '../storages/s3.ts';
import { startS3Server } from '../support/s3-server.ts';

const MiB = 1024 * 1024;
const CHUNK = 64 * 1024;
const RUNS: [string, number][] = [
  ['multipart', 1024],
  ['buffered', 256],
  ['multipart', 256],
];

/** `size` bytes made as read, a fresh 64 KiB Buffer each time, as a report generator would. */
async function* generated(size: number): AsyncGenerator<Buffer> {
  for (let sent = 0; sent < size; sent += CHUNK) {
    const chunk = Buffer.allocUnsafe(Math.min(CHUNK, size - sent));
    chunk.fill(sent & 0xff);
    yield chunk;
  }
}

async function measure(approach: string, mib: number): Promise<void> {
  const s3 = await startS3Server();
  try {
    const client = s3.client();
    const storage = new S3Storage({ client, bucket: s3.bucket });
    await storage.save('warm-up.txt', 'warm up the client and its connection');
    globalThis.gc?.();
    const baseline = process.memoryUsage.rss();
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
    const started = performance.now();
    const content = Readable.from(generated(mib * MiB));
    if (approach === 'multipart') {
      await storage.save('big.bin', content);
    } else {
      const Body = await contentBytes(content);
      await client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: 'big.bin', Body }));
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage.rss());
    const size = (await storage.stat('big.bin')).size;
    if (size !== mib * MiB) throw new Error(`stored ${size} bytes, not ${mib * MiB}`);
    const growth = (peak - baseline) / MiB;
    console.log(
      `${approach.padEnd(9)} ${String(mib).padStart(5)} MiB: RSS ${(baseline / MiB).toFixed(0)} -> peak ${(peak / MiB).toFixed(0)} MiB, growth ${growth.toFixed(0)} MiB, ${seconds.toFixed(1)} s`,
    );
  } finally {
    await s3.stop();
  }
}

const [approach, mib] = process.argv.slice(2);
if (approach) {
  await measure(approach, Number(mib ?? 1024));
} else {
  const self = fileURLToPath(import.meta.url);
  console.log(`node ${process.version}, Node's own RSS sampled every 20 ms`);
  for (const [run, size] of RUNS) {
    const args = ['--expose-gc', '--import', 'tsx', self, run, String(size)];
    spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'ignore'] });
  }
}
