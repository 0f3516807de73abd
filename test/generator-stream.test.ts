import { expect } from 'chai';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { generatorStream, sliceStream } from '../src/generator-stream.ts';

/** A byte stream of `chunks`, one chunk per read, as a file or a socket gives them. */
function source(...chunks: string[]): Readable {
  return Readable.from(
    chunks.map((chunk) => Buffer.from(chunk)),
    { objectMode: false },
  );
}

describe('generatorStream', () => {
  it('streams what the generator yields, in order', async () => {
    async function* parts(): AsyncGenerator<Buffer> {
      yield Buffer.from('ab');
      yield Buffer.from('cd');
    }
    const stream = generatorStream(parts(), () => {});
    expect((await buffer(stream)).toString()).to.equal('abcd');
  });

  it('runs release when destroyed while the generator is parked on an await, then closes', async () => {
    let unpark = (): void => {};
    const parked = new Promise<void>((resolve) => (unpark = resolve));
    let released = 0;
    let finished = false;
    async function* parts(): AsyncGenerator<Buffer> {
      try {
        yield Buffer.from('a');
        await parked; // as when waiting on a stalled storage stream
        yield Buffer.from('b');
      } finally {
        finished = true;
      }
    }
    const stream = generatorStream(parts(), () => {
      released++;
      unpark();
    });
    const [first] = (await once(stream, 'data')) as [Buffer];
    expect(first.toString()).to.equal('a');
    stream.destroy();
    await once(stream, 'close');
    expect(released).to.equal(1);
    expect(finished).to.equal(true);
  });
});

describe('sliceStream', () => {
  const slices: [string, string[], number, number, number, string][] = [
    ['the first byte', ['0123', '4567', '89'], 0, 0, 0, '0'],
    ['a range inside one chunk', ['0123', '4567', '89'], 0, 1, 2, '12'],
    ['a range across chunks', ['0123', '4567', '89'], 0, 3, 8, '345678'],
    ['the last bytes', ['0123', '4567', '89'], 0, 8, 9, '89'],
    ['the whole source', ['0123', '4567', '89'], 0, 0, 9, '0123456789'],
    ['a source that starts at byte 4', ['4567', '89'], 4, 5, 8, '5678'],
    ['a source that starts exactly at the range', ['4567', '89'], 4, 4, 4, '4'],
  ];
  for (const [what, chunks, firstByte, start, end, expected] of slices) {
    it(`passes on ${what}: bytes ${start}-${end} of ${JSON.stringify(chunks)} from byte ${firstByte}`, async () => {
      const stream = sliceStream(source(...chunks), { start, end }, firstByte);
      expect((await buffer(stream)).toString()).to.equal(expected);
    });
  }

  it('destroys an endless source once the range is passed on, and ends', async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced++;
        this.push(Buffer.from('0123456789'));
      },
    });
    const stream = sliceStream(endless, { start: 2, end: 12 });
    expect((await buffer(stream)).toString()).to.equal('23456789012');
    expect(endless.destroyed).to.equal(true);
    const after = produced;
    await new Promise((resolve) => setImmediate(resolve));
    expect(produced, 'reads after the end').to.equal(after);
  });

  it('fails, never ends short, when the source ends before the range does', async () => {
    const stream = sliceStream(source('0123', '4567', '89'), { start: 5, end: 12 });
    let error: Error | undefined;
    try {
      await buffer(stream);
    } catch (err) {
      error = err as Error;
    }
    expect(error?.message).to.equal('source ended at byte 10, before byte 12 of the range');
  });

  it('destroys the source when the slice is destroyed early', async () => {
    const parked = new Readable({ read() {} });
    const stream = sliceStream(parked, { start: 0, end: 9 });
    stream.resume();
    stream.destroy();
    await once(stream, 'close');
    expect(parked.destroyed).to.equal(true);
  });
});
