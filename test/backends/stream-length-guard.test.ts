import { expect } from 'chai';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { setTimeout as sleep } from 'node:timers/promises';
import { holdToLength } from '../../src/backends/length-guard.ts';

const mismatch = (detail: string) => Object.assign(new Error(detail), { code: 'MISMATCH' });

/** A source of `chunks` (sizes in bytes), then an end, an error, a bare destroy or nothing. */
function source(chunks: number[], then: 'end' | 'error' | 'destroy' | 'hang' = 'end') {
  let at = 0;
  const stream = new Readable({
    read() {
      const size = chunks[at++];
      if (size !== undefined) return void this.push(Buffer.alloc(size, 0x61 + at));
      if (then === 'end') this.push(null);
      else if (then === 'error') this.destroy(Object.assign(new Error('EIO'), { code: 'EIO' }));
      else if (then === 'destroy') this.destroy();
    },
  });
  return stream;
}

/** Runs a guard of `length` over `from`; what it passed, how it ended, what it reported. */
async function run(from: Readable, length: number) {
  const reported: Error[] = [];
  const guard = holdToLength(from, length, mismatch, (err) => reported.push(err));
  try {
    const bytes = await buffer(guard);
    return { bytes: bytes.length, error: undefined, reported, sourceDestroyed: from.destroyed };
  } catch (err) {
    return { bytes: -1, error: err as Error, reported, sourceDestroyed: from.destroyed };
  }
}

describe('holdToLength: a streamed body holds its declared length', () => {
  const cases: [string, number[], number, number][] = [
    ['exactly the length, in one chunk', [100], 100, 100],
    ['exactly the length, in several chunks', [40, 40, 20], 100, 100],
    ['more, the last expected byte inside a chunk', [60, 60], 100, 100],
    ['more, the last expected byte at a chunk boundary', [50, 50, 50], 100, 100],
  ];
  for (const [label, chunks, length, expected] of cases) {
    it(`passes ${expected} bytes of a source sending ${label}`, async () => {
      const result = await run(source(chunks), length);
      expect(result.error).to.equal(undefined);
      expect(result.bytes).to.equal(expected);
      expect(result.sourceDestroyed, 'the source is released').to.equal(true);
    });
  }

  it('reports bytes past the length once, and ends cleanly', async () => {
    const result = await run(source([60, 60, 60]), 100);
    expect(result.bytes).to.equal(100);
    expect(result.reported.map((err) => err.message)).to.deep.equal([
      'more than the 100 bytes declared',
    ]);
  });

  it('ends at the last expected byte, without waiting for a source that never ends', async () => {
    const result = await Promise.race([run(source([100], 'hang'), 100), sleep(1000)]);
    expect(result?.bytes).to.equal(100);
    expect(result?.sourceDestroyed).to.equal(true);
  });

  it('fails, never ends, when the source ends short', async () => {
    const result = await run(source([40, 40]), 100);
    expect(result.error?.message).to.equal('ended after 80 of the 100 bytes declared');
    expect(result.reported).to.deep.equal([]);
  });

  it('fails when the source is destroyed short without an error', async () => {
    const result = await run(source([40], 'destroy'), 100);
    expect((result.error as NodeJS.ErrnoException).code).to.equal('MISMATCH');
  });

  it("fails with the source's own error", async () => {
    const result = await run(source([40], 'error'), 100);
    expect((result.error as NodeJS.ErrnoException).code).to.equal('EIO');
  });

  it('destroys the source when the body is destroyed (a client that leaves)', async () => {
    const from = source([10], 'hang');
    const guard = holdToLength(from, 100, mismatch, () => undefined);
    guard.resume();
    await sleep(10);
    guard.destroy();
    await sleep(10);
    expect(from.destroyed).to.equal(true);
  });

  it('sends nothing, and does not wait, for a length of zero', async () => {
    const result = await Promise.race([run(source([10], 'hang'), 0), sleep(1000)]);
    expect(result?.bytes).to.equal(0);
    expect(result?.sourceDestroyed).to.equal(true);
  });
});
