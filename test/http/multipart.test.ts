import { expect } from 'chai';
import { Readable } from 'node:stream';
import { multipartBody } from '../../src/backends/multipart-body.ts';
import { planMultipart } from '../../src/http/multipart.ts';
import type { ByteRange } from '../../src/storage.ts';
import { parseMultipart } from '../support/http.ts';

const FILE = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz\n');
const open = async (r: ByteRange) => Readable.from([FILE.subarray(r.start, r.end + 1)]);

async function collect(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

describe('multipart/byteranges', () => {
  const sets: ByteRange[][] = [
    [
      { start: 0, end: 0 },
      { start: 36, end: 36 },
    ],
    [
      { start: 0, end: 9 },
      { start: 20, end: 29 },
      { start: 30, end: 36 },
    ],
    [
      { start: 10, end: 19 },
      { start: 0, end: 4 },
    ],
  ];
  for (const ranges of sets) {
    it(`frames ${JSON.stringify(ranges)} with an exact Content-Length`, async () => {
      const plan = planMultipart(ranges, FILE.length, 'text/plain');
      const body = await collect(multipartBody(plan, open));
      expect(body.length).to.equal(plan.contentLength);
      const parts = parseMultipart(body, plan.contentType);
      expect(parts.map((p) => p.body.toString())).to.deep.equal(
        ranges.map((r) => FILE.subarray(r.start, r.end + 1).toString()),
      );
      expect(parts.map((p) => p.headers['content-range'])).to.deep.equal(
        ranges.map((r) => `bytes ${r.start}-${r.end}/37`),
      );
      expect(body.subarray(-4).toString()).to.equal('--\r\n');
    });
  }

  it('uses a fresh random boundary unless one is given', () => {
    const a = planMultipart([{ start: 0, end: 0 }], 37, 'text/plain');
    const b = planMultipart([{ start: 0, end: 0 }], 37, 'text/plain');
    expect(a.contentType).to.not.equal(b.contentType);
    expect(planMultipart([{ start: 0, end: 0 }], 37, 'x/y', 'B').contentType).to.equal(
      'multipart/byteranges; boundary=B',
    );
  });

  it('opens one part at a time and destroys the open part when the body is destroyed', async () => {
    let opened = 0;
    let destroyed = 0;
    const slow = async () => {
      opened++;
      const part = new Readable({ read() {} });
      part.push('x');
      part.once('close', () => destroyed++);
      return part;
    };
    const plan = planMultipart(
      [
        { start: 0, end: 0 },
        { start: 5, end: 5 },
      ],
      37,
      'text/plain',
    );
    const body = multipartBody(plan, slow);
    await new Promise((resolve) => body.once('data', resolve));
    await new Promise((resolve) => setTimeout(resolve, 20));
    body.destroy();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect([opened, destroyed]).to.deep.equal([1, 1]);
  });

  it('destroys the body with the error when a part cannot be opened', async () => {
    const plan = planMultipart(
      [
        { start: 0, end: 0 },
        { start: 5, end: 5 },
      ],
      37,
      'text/plain',
    );
    let calls = 0;
    const failing = async (r: ByteRange) => {
      if (++calls === 2) throw new Error('second part failed');
      return open(r);
    };
    let error: unknown;
    await collect(multipartBody(plan, failing)).catch((err: unknown) => (error = err));
    expect((error as Error).message).to.equal('second part failed');
  });
});
