import { expect } from 'chai';
import type { Context, Next } from 'koa';
import {
  downloadview,
  DownloadFileSerializedError,
  VirtualFile,
  type DownloadFileOptions,
} from '../../src/index.ts';
import { request } from '../support/http.ts';
import { createApp, serve } from '../support/koa.ts';
import { contentDisposition } from '../support/disposition.ts';

async function headersFor(name: string, options: DownloadFileOptions = {}) {
  const server = await serve(downloadview(), (ctx) => {
    ctx.body = new VirtualFile('content', { name, ...options });
  });
  try {
    return (await request(server.url)).headers;
  } finally {
    await server.close();
  }
}

describe('DownloadFile presentation', () => {
  const types: [string, string][] = [
    ['notes.txt', 'text/plain; charset=utf-8'],
    ['page.html', 'text/html; charset=utf-8'],
    ['photo.png', 'image/png'],
    ['archive.zip', 'application/zip'],
    ['data.bin', 'application/octet-stream'],
    ['no-extension', 'application/octet-stream'],
  ];
  for (const [name, type] of types) {
    it(`guesses ${type} for ${name} (a charset only for text)`, async () => {
      expect((await headersFor(name))['content-type']).to.equal(type);
    });
  }

  describe('edges: the Content-Type comes from the extension only', () => {
    const names: [string, string][] = [
      ['text/html', 'application/octet-stream'],
      ['Invoice 2024/001.pdf', 'application/pdf'],
      ['a/b\u0001.txt', 'text/plain; charset=utf-8'],
      ['html', 'application/octet-stream'],
      ['image/svg+xml', 'application/octet-stream'],
      ['x.txt/evil', 'application/octet-stream'],
    ];
    for (const [filename, type] of names) {
      it(`filename ${JSON.stringify(filename)} gives ${type}, never the name itself`, async () => {
        const headers = await headersFor('data.bin', { filename });
        expect(headers['content-type']).to.equal(type);
      });
    }

    it('a stored type that is not a media type is ignored, the extension decides', async () => {
      for (const stored of ['Invoice 2024/001.pdf', 'text/plain\r\nX-Evil: 1', 'nonsense', '']) {
        const file = new VirtualFile('x', { name: 'a.csv' });
        expect(file.contentType({ contentType: stored }), stored).to.equal(
          'text/csv; charset=utf-8',
        );
      }
      const file = new VirtualFile('x', { name: 'a.csv' });
      expect(file.contentType({ contentType: 'application/vnd.ms-excel' })).to.equal(
        'application/vnd.ms-excel',
      );
    });

    for (const contentType of [
      'text/plain\r\nX-Evil: 1',
      'Invoice 2024/001.pdf',
      'text',
      'a/b; c',
    ]) {
      it(`refuses contentType ${JSON.stringify(contentType)} at construction, naming the option`, () => {
        expect(() => new VirtualFile('x', { name: 'a.txt', contentType })).to.throw(
          TypeError,
          /option "contentType" must be a media type/,
        );
      });
    }
  });

  it('uses an explicit contentType as given', async () => {
    const headers = await headersFor('x.txt', { contentType: 'application/vnd.kdv' });
    expect(headers['content-type']).to.equal('application/vnd.kdv');
  });

  it('sends inline with the file name when attachment is false', async () => {
    const headers = await headersFor('photo.png', { attachment: false });
    expect(contentDisposition(headers)).to.deep.equal({ type: 'inline', filename: 'photo.png' });
  });

  const names = [
    'résumé.pdf',
    'Отчёт за 2026.csv',
    '報告書.txt',
    "quote\"s and 'apostrophes'.txt",
    'semi;colon, comma.txt',
    '100% done.txt',
    'emoji 🎉.txt',
  ];
  for (const name of names) {
    it(`carries the name ${JSON.stringify(name)} intact through Content-Disposition`, async () => {
      const headers = await headersFor('x.txt', { filename: name });
      expect(contentDisposition(headers)).to.deep.equal({ type: 'attachment', filename: name });
    });
  }

  it('keeps only the base name of a path, with either separator', async () => {
    for (const name of ['dir/sub/a.txt', 'C:\\Users\\me\\a.txt']) {
      expect(contentDisposition(await headersFor('x.txt', { filename: name })).filename).to.equal(
        'a.txt',
      );
    }
  });

  it('never lets control characters break the header', async () => {
    const headers = await headersFor('x.txt', { filename: 'evil\r\nSet-Cookie: a=b.txt' });
    expect(headers['set-cookie']).to.equal(undefined);
    expect(headers['content-disposition']).to.not.match(/[\r\n]/);
  });

  it('answers 500, not a JSON dump, when downloadview() is missing', async () => {
    const app = createApp();
    const errors: Error[] = [];
    app.on('error', (err: Error) => errors.push(err));
    app.use((ctx) => {
      ctx.body = new VirtualFile('secret', { name: 'x.txt' });
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as { port: number };
      const res = await request(`http://127.0.0.1:${port}/`);
      expect(res.status).to.equal(500);
      expect(res.body.toString()).to.not.contain('secret');
      expect(errors[0]?.message).to.contain('downloadview()');
    } finally {
      server.close();
    }
  });
});

describe('edges: a DownloadFile read as JSON by a middleware between downloadview() and the route', () => {
  // What koa-compress (ctx.response.length) and koa-etag (JSON.stringify) do to the body.
  const readers: [string, (ctx: Context) => unknown][] = [
    ['reads ctx.response.length', (ctx) => ctx.response.length],
    ['hashes JSON.stringify(ctx.body)', (ctx) => JSON.stringify(ctx.body)],
  ];
  for (const [what, read] of readers) {
    it(`a middleware that ${what} fails the request with a message saying what to move`, async () => {
      const server = await serve(
        downloadview(),
        async (ctx: Context, next: Next) => {
          await next();
          read(ctx);
        },
        (ctx: Context) => {
          ctx.body = new VirtualFile('secret bytes', { name: 'x.txt' });
        },
      );
      try {
        const res = await request(server.url);
        expect(res.status).to.equal(500);
        expect(res.body.toString()).not.to.contain('secret');
        expect(server.errors).to.have.length(1);
        expect(server.errors[0]).to.be.instanceOf(DownloadFileSerializedError);
        expect(server.errors[0]?.message).to.match(
          /registered after downloadview\(\).*register such middleware before downloadview\(\)/,
        );
      } finally {
        await server.close();
      }
    });
  }
});
