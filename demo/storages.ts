import { PutObjectCommand } from '@aws-sdk/client-s3';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { S3Storage } from '../storages/s3.ts';
import { startS3Server } from '../support/s3-server.ts';

/** The demo's files on disk, shipped in the repository (filesystem storage, nginx offload). */
export const DEMO_FILES = fileURLToPath(new URL('./files/', import.meta.url));

/** The video of the home page, streamed by Koa under every backend (demo/media/). */
export const DEMO_MEDIA = fileURLToPath(new URL('./media/', import.meta.url));

/** The archive the custom TarStorage driver reads its files from, without extracting it. */
export const DEMO_ARCHIVE = fileURLToPath(
  new URL('./custom-storage/release-1.2.tar', import.meta.url),
);

// The SDK's notice that its 2027 releases will need Node 22 says nothing about the demo.
process.env['AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED'] ??= 'true';

/** The bucket of the embedded S3 server. */
export const DEMO_BUCKET = 'demo-bucket';

/** Objects put into the embedded S3 server at start-up: [key, file under demo/files/, type]. */
export const DEMO_S3_OBJECTS: readonly [string, string, string][] = [
  ['hello.txt', 'hello.txt', 'text/plain; charset=utf-8'],
  ['exports/Übersicht 2026 — 報告.csv', 'reports/résumé 2026.csv', 'text/csv; charset=utf-8'],
];

/** The embedded S3-protocol server and the storage over its bucket. */
export interface DemoS3 {
  storage: S3Storage;
  /** Where the objects live (`http://127.0.0.1:<port>/<bucket>/`): what offload rules match. */
  bucketUrl: string;
  stop(): Promise<void>;
}

/**
 * Starts a real S3-protocol server (s3rver, in a child process, on a free port), fills its
 * bucket with the demo objects and returns an `S3Storage` over it. Its `url()` presigns GET
 * URLs, which is what the redirect backend sends browsers to.
 *
 * @example
 * const s3 = await startDemoS3();
 * try { console.log(await s3.storage.url('hello.txt')); } finally { await s3.stop(); }
 */
export async function startDemoS3(): Promise<DemoS3> {
  const server = await startS3Server(DEMO_BUCKET);
  try {
    const client = server.client();
    for (const [key, file, ContentType] of DEMO_S3_OBJECTS) {
      const Body = await readFile(new URL(`./files/${file}`, import.meta.url));
      await client.send(new PutObjectCommand({ Bucket: DEMO_BUCKET, Key: key, Body, ContentType }));
    }
    return {
      storage: new S3Storage({ client, bucket: DEMO_BUCKET }),
      bucketUrl: `${server.endpoint}/${DEMO_BUCKET}/`,
      stop: () => server.stop(),
    };
  } catch (err) {
    await server.stop();
    throw err;
  }
}
