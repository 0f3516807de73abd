// Run as a child process by test/debug-output.test.ts, with DEBUG set: one download
// through an nginx rule that does not cover the storage's baseUrl, one it does cover.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { downloadview, StorageFile } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { request } from './http.ts';
import { serve } from './koa.ts';

const dir = await mkdtemp(join(tmpdir(), 'kdv-debug-'));
await writeFile(join(dir, 'hello.txt'), 'hello');
const elsewhere = new FileSystemStorage({ location: dir, baseUrl: '/elsewhere/' });
const media = new FileSystemStorage({ location: dir, baseUrl: '/media/' });
const server = await serve(
  downloadview({ backend: 'nginx', rules: [{ sourceUrl: '/media/', destinationUrl: '/p/' }] }),
  (ctx) => {
    ctx.body = new StorageFile(ctx.path === '/media' ? media : elsewhere, 'hello.txt');
  },
);
if (process.argv[2] === 'declined') {
  // Caddy cuts its header value at "?": caddy() declines such a name, Koa streams it.
  await writeFile(join(dir, 'bad?name.txt'), 'bad');
  const declined = await serve(
    downloadview({ backend: 'caddy', rules: [{ sourceUrl: '/media/', destinationUrl: '/p/' }] }),
    (ctx) => {
      ctx.body = new StorageFile(media, 'bad?name.txt');
    },
  );
  await request(`${declined.url}/`);
  await declined.close();
} else {
  await request(`${server.url}/elsewhere`);
  await request(`${server.url}/media`);
}
await server.close();
