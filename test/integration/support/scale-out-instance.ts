// One app instance of test/integration/scale-out-resume.test.ts, run as its own Node process so
// that it can be killed (SIGKILL) mid-download like a crashed or redeployed server. Every answer
// carries `X-Instance`, so the test can tell which instance served which part of a download.
//
// Environment:
//   INSTANCE_ID  the name sent in X-Instance
//   PORT         the 127.0.0.1 port to listen on (fixed: nginx's upstream block names it)
//   SHARED_DIR   the directory every instance serves, as one network share would be
//   OWN_DIR      this instance's own copy of the files, as a per-host deployment would be
//   S3_ENDPOINT, S3_BUCKET  the S3-protocol server every instance reads from
//
// Routes, each with its own `downloadview()` so that one process offers every ETag mode:
//   /s3/*path           S3Storage, streamed, default etag (S3 supplies the tag)
//   /s3-content/*path   S3Storage, streamed, etag: 'content'
//   /stat/*path         SHARED_DIR, streamed, default etag ('stat')
//   /content/*path      SHARED_DIR, streamed, etag: 'content'
//   /offload/*path      SHARED_DIR, offloaded to nginx (X-Accel-Redirect /protected/)
//   /offload-content/*path  the same with etag: 'content'
//   /own-stat/*path     OWN_DIR, streamed, default etag
//   /own-content/*path  OWN_DIR, streamed, etag: 'content'
// It prints `listening <port>` once it accepts connections, and every error the app reports
// as one `error <message>` line on stderr.
import Router from '@koa/router';
import type { Context, Next } from 'koa';
import { downloadview, nginx, storageDownload, type EtagMode } from '../../../src/index.ts';
import type { Storage } from '../../../src/storage.ts';
import { FileSystemStorage } from '../../../storages/filesystem.ts';
import { S3Storage } from '../../../storages/s3.ts';
import { s3Client } from '../../../support/s3-server.ts';
import { createApp } from '../../support/koa.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`scale-out instance: ${name} is not set`);
  return value;
}

const instanceId = required('INSTANCE_ID');
const port = Number(required('PORT'));
const sharedDir = required('SHARED_DIR');
const shared = new FileSystemStorage({ location: sharedDir });
const own = new FileSystemStorage({ location: required('OWN_DIR') });
const s3 = new S3Storage({
  client: s3Client(required('S3_ENDPOINT')),
  bucket: required('S3_BUCKET'),
});

const router = new Router();
const route = (path: string, storage: Storage, view = downloadview()) =>
  router.get(`/${path}/*path`, view, storageDownload({ storage }));
const offloaded = (etag: EtagMode) =>
  downloadview({
    backend: nginx(),
    rules: [{ sourceDir: sharedDir, destinationUrl: '/protected/' }],
    etag,
  });
route('s3', s3);
route('s3-content', s3, downloadview({ etag: 'content' }));
route('stat', shared);
route('content', shared, downloadview({ etag: 'content' }));
route('offload', shared, offloaded('stat'));
route('offload-content', shared, offloaded('content'));
route('own-stat', own);
route('own-content', own, downloadview({ etag: 'content' }));

const app = createApp();
app.on('error', (error: Error) => console.error(`error ${error.message}`));
app.use(async (ctx: Context, next: Next) => {
  ctx.set('X-Instance', instanceId);
  await next();
});
app.use(router.routes());
app.listen(port, '127.0.0.1', () => console.log(`listening ${port}`));
