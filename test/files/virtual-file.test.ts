import { expect } from 'chai';
import { Readable } from 'node:stream';
import { downloadview, VirtualFile, type VirtualContent } from '../../src/index.ts';
import { request, sentWithoutLength } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';

async function serveOnce(make: () => VirtualFile): Promise<TestServer> {
  return serve(downloadview(), (ctx) => {
    ctx.body = make();
  });
}

describe('VirtualFile', () => {
  const text = 'Grüße, 世界!\n';
  const bytes = Buffer.from(text, 'utf8');

  const sized: [string, () => VirtualContent][] = [
    ['a string (Content-Length counts UTF-8 bytes, not characters)', () => text],
    ['a Buffer', () => Buffer.from(bytes)],
    [
      'a Uint8Array view into a larger buffer',
      () => {
        const padded = Buffer.concat([Buffer.from('xx'), bytes, Buffer.from('yy')]);
        return new Uint8Array(padded.buffer, padded.byteOffset + 2, bytes.length);
      },
    ],
  ];
  for (const [what, content] of sized) {
    it(`serves ${what} with its byte length and ranges`, async () => {
      const server = await serveOnce(() => new VirtualFile(content(), { name: 'greeting.txt' }));
      try {
        const res = await request(server.url);
        expect(res.headers['content-length']).to.equal(String(bytes.length));
        expect(res.body.equals(bytes)).to.equal(true);
        expect(res.headers['accept-ranges']).to.equal('bytes');
        const ranged = await request(server.url, { headers: { Range: 'bytes=0-3' } });
        expect([ranged.status, ranged.body.toString()]).to.deep.equal([206, 'Grü']);
      } finally {
        await server.close();
      }
    });
  }

  const streamed: [string, () => VirtualContent][] = [
    ['a sync iterable', () => ['Grüße, ', Buffer.from('世界!\n')]],
    [
      'an async iterable',
      () =>
        (async function* () {
          yield 'Grüße, ';
          yield '世界!\n';
        })(),
    ],
    ['a Readable', () => Readable.from([bytes.subarray(0, 5), bytes.subarray(5)])],
  ];
  for (const [what, content] of streamed) {
    it(`streams ${what} chunked, without ranges`, async () => {
      const server = await serveOnce(() => new VirtualFile(content(), { name: 'greeting.txt' }));
      try {
        const res = await request(server.url, { headers: { Range: 'bytes=0-3' } });
        expect(res.status).to.equal(200);
        expect(sentWithoutLength(res)).to.equal(true);
        expect(res.headers['content-length']).to.equal(undefined);
        expect(res.headers['accept-ranges']).to.equal('none');
        expect(res.body.equals(bytes)).to.equal(true);
      } finally {
        await server.close();
      }
    });
  }

  it('sends Content-Length for a stream whose size is given', async () => {
    const server = await serveOnce(
      () => new VirtualFile(Readable.from([bytes]), { name: 'g.txt', size: bytes.length }),
    );
    try {
      const res = await request(server.url);
      expect(res.headers['content-length']).to.equal(String(bytes.length));
      expect(res.body.equals(bytes)).to.equal(true);
    } finally {
      await server.close();
    }
  });

  it('refuses to read stream content twice', async () => {
    const file = new VirtualFile(Readable.from(['x']), { name: 'x.txt' });
    await file.open();
    let error: unknown;
    await file.open().catch((err: unknown) => (error = err));
    expect(error).to.be.instanceOf(Error);
  });

  const invalid: [string, () => unknown][] = [
    ['no name', () => new VirtualFile('x', {} as never)],
    ['a number as content', () => new VirtualFile(42 as never, { name: 'x' })],
    ['a negative size', () => new VirtualFile(Readable.from([]), { name: 'x', size: -1 })],
    ['an empty filename', () => new VirtualFile('x', { name: 'x', filename: '' })],
    [
      'a non-boolean attachment',
      () => new VirtualFile('x', { name: 'x', attachment: 'no' as never }),
    ],
    ['an empty contentType', () => new VirtualFile('x', { name: 'x', contentType: '' })],
  ];
  for (const [what, make] of invalid) {
    it(`throws a TypeError at construction for ${what}`, () => {
      expect(make).to.throw(TypeError);
    });
  }
});
