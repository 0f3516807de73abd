/* global describe, it */
// A user's own test suite, written against the published package only.
import Koa from 'koa';
import supertest from 'supertest';
import { downloadview, StorageFile, VirtualFile } from 'koa-downloadview';
import { MemoryStorage } from 'koa-downloadview/storages/memory';
import { FileSystemStorage } from 'koa-downloadview/storages/filesystem';
import {
  assertDownload,
  assertXAccelRedirect,
  describeStorageContract,
  temporaryStorage,
} from 'koa-downloadview/testing';

describeStorageContract('MemoryStorage from the package', (files) => new MemoryStorage({ files }));

describe('a user route tested with koa-downloadview/testing', () => {
  it('streams a file', async () => {
    const tmp = await temporaryStorage({ 'report.csv': 'a,b\n' });
    try {
      const app = new Koa();
      app.use(downloadview());
      app.use((ctx) => {
        ctx.body = new StorageFile(tmp.storage, 'report.csv');
      });
      const res = await supertest(app.callback()).get('/').buffer(true);
      await assertDownload(res, {
        basename: 'report.csv',
        contentType: 'text/csv',
        content: 'a,b\n',
      });
    } finally {
      await tmp.cleanup();
    }
  });

  it('offloads to nginx', async () => {
    const tmp = await temporaryStorage({ 'a.txt': 'x' });
    try {
      const app = new Koa();
      app.use(
        downloadview({
          backend: 'nginx',
          rules: [{ sourceDir: tmp.location, destinationUrl: '/protected/' }],
        }),
      );
      app.use((ctx) => {
        ctx.body = new StorageFile(new FileSystemStorage({ location: tmp.location }), 'a.txt');
      });
      await assertXAccelRedirect(await supertest(app.callback()).get('/'), {
        redirectUrl: '/protected/a.txt',
      });
    } finally {
      await tmp.cleanup();
    }
  });

  it('virtual files', async () => {
    const app = new Koa();
    app.use(downloadview());
    app.use((ctx) => {
      ctx.body = new VirtualFile('hi', { name: 'hi.txt', attachment: false });
    });
    await assertDownload(await supertest(app.callback()).get('/'), {
      attachment: false,
      content: 'hi',
    });
  });
});
