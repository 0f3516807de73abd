import { expect } from 'chai';
import { Readable } from 'node:stream';
import {
  ContractTimeoutError,
  collect,
  expectBytes,
  within,
} from '../../src/testing/contract/bytes.ts';

/** The message `expectBytes` fails with, or '' when it passes. */
function message(
  actual: string | Buffer,
  file: string | Buffer,
  range?: { start: number; end: number },
) {
  try {
    expectBytes(Buffer.from(actual), { file: Buffer.from(file), range }, 'read');
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

describe('testing: contract byte checks', () => {
  it('passes the exact bytes of a range or of the whole file', () => {
    expect(message('bcd', 'abcdef', { start: 1, end: 3 })).to.equal('');
    expect(message('abcdef', 'abcdef')).to.equal('');
    expect(message('', '')).to.equal('');
  });

  it('shows a text file as text, around the first difference', () => {
    expect(message('0123456789abcdefghiJ', '0123456789abcdefghij\n').split('\n')).to.deep.equal([
      'read gave the wrong bytes:',
      '  asked     the whole file (21 bytes of 21)',
      '  expected  21 bytes: …"bcdefghij\\n"',
      '  actual    20 bytes: …"bcdefghiJ"',
      '  first difference at offset 19 (byte 19 of the file)',
    ]);
  });

  it('names a range that starts one byte late, in hex for a binary file', () => {
    const file = Buffer.from([0, 1, 2, 3, 4, 5, 6, 7, 0xff]);
    const lines = message(file.subarray(3, 6), file, { start: 2, end: 4 }).split('\n');
    expect(lines.slice(1)).to.deep.equal([
      '  asked     bytes 2-4 (3 bytes of 9)',
      '  expected  3 bytes: 02 03 04',
      '  actual    3 bytes: 03 04 05',
      '  first difference at offset 0 (byte 2 of the file)',
      '  actual is bytes 3-5 of the file, where bytes 2-4 were asked: an off-by-one in the range?',
    ]);
  });

  it('says "(none)" for an empty answer, and guesses no shift', () => {
    const lines = message('', 'abc', { start: 0, end: 1 }).split('\n');
    expect(lines).to.include('  actual    0 bytes: (none)');
    expect(lines.some((line) => line.includes('off-by-one'))).to.equal(false);
  });

  it('collects a stream, and times out one that never ends, destroying it', async () => {
    expect((await collect(Readable.from(['ab', 'c']), 1000, 'x')).toString()).to.equal('abc');
    const stalled = new Readable({ read() {} });
    stalled.push('ab');
    const error = await collect(stalled, 50, 'open("a")').catch((err: Error) => err);
    expect(error).to.be.instanceOf(ContractTimeoutError);
    expect((error as Error).message).to.equal(
      'open("a"): the stream neither ended nor failed within 50 ms (2 bytes read): does it push its end?',
    );
    expect(stalled.destroyed).to.equal(true);
  });

  it('fails a stream that closes without ending', async () => {
    const stream = new Readable({ read() {} });
    setImmediate(() => stream.destroy());
    const error = await collect(stream, 1000, 'open("a")').catch((err: Error) => err);
    expect((error as Error).message).to.equal(
      'open("a"): the stream closed after 0 bytes without ending',
    );
  });

  it('bounds a promise, naming what did not settle', async () => {
    expect(await within(Promise.resolve(1), 50, 'x')).to.equal(1);
    const error = await within(new Promise(() => {}), 20, 'stat("a")').catch((err: Error) => err);
    expect(error).to.be.instanceOf(ContractTimeoutError);
    expect((error as Error).message).to.equal('stat("a") did not settle within 20 ms');
  });
});
