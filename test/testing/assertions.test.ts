import { AssertionError, expect } from 'chai';
import supertest from 'supertest';
import type { Context } from 'koa';
import {
  assertCaddyRedirect,
  assertDownload,
  assertXAccelRedirect,
  assertXSendfile,
} from '../../src/testing/index.ts';
import {
  downloadview,
  nginx,
  StorageFile,
  VirtualFile,
  type DownloadViewOptions,
} from '../../src/index.ts';
import { MemoryStorage } from '../../storages/memory.ts';
import { serve, type TestServer } from '../support/koa.ts';

/** A response to assert on, from either client the helpers accept. */
type Fetcher = (server: TestServer, path: string) => Promise<unknown>;

const clients: [string, Fetcher][] = [
  ['fetch', (server, path) => fetch(server.url + path)],
  ['supertest', (server, path) => supertest(server.url).get(path).buffer(true)],
];

async function failure(promise: Promise<void>): Promise<InstanceType<typeof AssertionError>> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof AssertionError) return err;
    throw err;
  }
  throw new Error('the assertion passed but was expected to fail');
}

function answer(headers: Record<string, string>, body = '') {
  return (ctx: Context) => {
    ctx.status = 200;
    ctx.set(headers);
    ctx.body = body;
  };
}

for (const [client, fetchFrom] of clients) {
  describe(`testing helpers on a ${client} response`, () => {
    let server: TestServer;
    before(async () => {
      server = await serve(downloadview(), (ctx: Context) => {
        if (ctx.path === '/text') {
          ctx.body = new VirtualFile('Grüße\n', { name: 'grüße.txt' });
        } else if (ctx.path === '/inline') {
          ctx.body = new VirtualFile('<p>hi</p>', { name: 'page.html', attachment: false });
        } else if (ctx.path === '/accel') {
          answer({
            'X-Accel-Redirect': '/protected/r%C3%A9sum%C3%A9.txt',
            'X-Accel-Buffering': 'no',
            'X-Accel-Expires': 'off',
            'Content-Type': 'text/plain',
            'Content-Disposition': `attachment; filename="resume.txt"; filename*=UTF-8''r%C3%A9sum%C3%A9.txt`,
          })(ctx);
        } else if (ctx.path === '/sendfile') {
          answer({
            'X-Sendfile': Buffer.from('/srv/files/résumé.txt').toString('latin1'),
            'Content-Type': 'text/plain',
            'Content-Disposition': 'attachment; filename="resume.txt"',
          })(ctx);
        } else if (ctx.path === '/lighttpd') {
          answer({ 'X-Sendfile': '/srv/files/r%C3%A9sum%C3%A9.txt', 'Content-Type': 'text/plain' })(
            ctx,
          );
        } else if (ctx.path === '/leaky') {
          answer({ 'X-Accel-Redirect': '/protected/a.txt' }, 'bytes that should not be here')(ctx);
        }
      });
    });
    after(() => server.close());

    describe('assertDownload', () => {
      it('passes on a correct streamed download', async () => {
        await assertDownload(await fetchFrom(server, '/text'), {
          basename: 'grüße.txt',
          contentType: 'text/plain',
          attachment: true,
          size: Buffer.byteLength('Grüße\n'),
          content: 'Grüße\n',
        });
      });

      it('accepts a predicate for the content and inline files', async () => {
        await assertDownload(await fetchFrom(server, '/inline'), {
          attachment: false,
          contentType: 'text/html; charset=utf-8',
          content: (body) => body.toString().startsWith('<p>'),
        });
      });

      it('fails listing every mismatching field, expected beside actual', async () => {
        const err = await failure(
          assertDownload(await fetchFrom(server, '/text'), {
            basename: 'other.txt',
            contentType: 'image/png',
            attachment: false,
            size: 1,
            content: 'nope',
          }),
        );
        for (const field of ['basename', 'contentType', 'attachment', 'size', 'content']) {
          expect(err.message).to.match(new RegExp(`^\\s+${field}\\s+expected`, 'm'));
        }
        expect(err.message).to.contain("expected 'other.txt', actual 'grüße.txt'");
      });

      it('fails on a failing predicate', async () => {
        const err = await failure(
          assertDownload(await fetchFrom(server, '/text'), { content: () => false }),
        );
        expect(err.message).to.contain('content');
      });

      it('fails on a missing file (status)', async () => {
        const err = await failure(assertDownload(await fetchFrom(server, '/missing'), {}));
        expect(err.message).to.match(/status\s+expected 200, actual 404/);
      });

      it('fails when the file was offloaded instead of streamed', async () => {
        const err = await failure(assertDownload(await fetchFrom(server, '/accel'), {}));
        expect(err.message).to.contain('X-Accel-Redirect');
      });
    });

    describe('assertXAccelRedirect', () => {
      it('passes on a correct nginx offload, buffering and expires included', async () => {
        await assertXAccelRedirect(await fetchFrom(server, '/accel'), {
          redirectUrl: '/protected/r%C3%A9sum%C3%A9.txt',
          basename: 'résumé.txt',
          contentType: 'text/plain',
          attachment: true,
          buffering: false,
          expires: 'off',
        });
      });

      it('fails on wrong buffering, expires, limitRate and charset values', async () => {
        const err = await failure(
          assertXAccelRedirect(await fetchFrom(server, '/accel'), {
            buffering: true,
            expires: 60,
            limitRate: 1024,
            charset: 'utf-8',
          }),
        );
        for (const field of ['buffering', 'expires', 'limitRate', 'charset']) {
          expect(err.message).to.match(new RegExp(`^\\s+${field}\\s+expected`, 'm'));
        }
      });

      it('fails when the file was streamed instead of offloaded', async () => {
        const err = await failure(assertXAccelRedirect(await fetchFrom(server, '/text'), {}));
        expect(err.message).to.contain('X-Accel-Redirect  expected');
        expect(err.message).to.contain('body size');
      });

      it('fails when an offload response carries a body', async () => {
        const err = await failure(assertXAccelRedirect(await fetchFrom(server, '/leaky'), {}));
        expect(err.message).to.match(/body size\s+expected 0/);
      });
    });

    describe('assertXSendfile', () => {
      it('passes on an Apache offload, decoding the raw UTF-8 path', async () => {
        await assertXSendfile(await fetchFrom(server, '/sendfile'), {
          filePath: '/srv/files/résumé.txt',
          basename: 'resume.txt',
        });
      });

      it('decodes the percent-encoded lighttpd form', async () => {
        await assertXSendfile(await fetchFrom(server, '/lighttpd'), {
          filePath: '/srv/files/résumé.txt',
          server: 'lighttpd',
        });
      });

      it('fails on a wrong path and on a streamed response', async () => {
        const wrong = await failure(
          assertXSendfile(await fetchFrom(server, '/sendfile'), { filePath: '/x' }),
        );
        expect(wrong.message).to.contain("expected '/x', actual '/srv/files/résumé.txt'");
        const streamed = await failure(assertXSendfile(await fetchFrom(server, '/text'), {}));
        expect(streamed.message).to.contain('X-Sendfile');
      });
    });

    describe('assertCaddyRedirect', () => {
      it('fails on a percent-encoded value Caddy would not decode', async () => {
        const err = await failure(
          assertCaddyRedirect(await fetchFrom(server, '/accel'), {
            redirectUrl: '/protected/résumé.txt',
          }),
        );
        expect(err.message).to.contain('redirectUrl');
      });
    });
  });
}

describe('testing helpers: arguments', () => {
  it('refuses something that is not a response', async () => {
    let error: unknown;
    await assertDownload({ nope: true }, {}).catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(TypeError);
  });

  it('passes through a real nginx backend response from the library', async () => {
    const options: DownloadViewOptions = {
      backend: nginx({ expires: 10 }),
      rules: [{ sourceUrl: '/media/', destinationUrl: '/protected/' }],
    };
    const storage = new MemoryStorage({ baseUrl: '/media/', files: { 'a b.txt': 'x' } });
    const server = await serve(downloadview(options), (ctx: Context) => {
      ctx.body = new StorageFile(storage, 'a b.txt');
    });
    try {
      await assertXAccelRedirect(await fetch(server.url), {
        redirectUrl: '/protected/a%20b.txt',
        basename: 'a b.txt',
        expires: 10,
      });
    } finally {
      await server.close();
    }
  });
});
