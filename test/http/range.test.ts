import { expect } from 'chai';
import { contentRange, decideRange, unsatisfiedRange } from '../../src/http/range.ts';

describe('decideRange', () => {
  const partial: [string, number, [number, number][]][] = [
    ['bytes=0-9', 37, [[0, 9]]],
    ['bytes=-5', 37, [[32, 36]]],
    ['bytes=-37', 37, [[0, 36]]],
    ['bytes=-100', 37, [[0, 36]]],
    ['bytes=30-', 37, [[30, 36]]],
    ['bytes=30-99', 37, [[30, 36]]],
    [
      'bytes=0-0,2-2',
      37,
      [
        [0, 0],
        [2, 2],
      ],
    ],
    [
      'bytes= 0-0 , 2-2 ',
      37,
      [
        [0, 0],
        [2, 2],
      ],
    ],
    ['bytes=0-4,5-9', 37, [[0, 9]]],
    ['bytes=5-9,0-6', 37, [[0, 9]]],
    [
      'bytes=20-29,0-1',
      37,
      [
        [20, 29],
        [0, 1],
      ],
    ],
    ['bytes=0-1,100-200', 37, [[0, 1]]],
    ['BYTES=0-0', 37, [[0, 0]]],
  ];
  for (const [header, size, ranges] of partial) {
    it(`${header} on ${size} bytes selects ${JSON.stringify(ranges)}`, () => {
      const expected = ranges.map(([start, end]) => ({ start, end }));
      expect(decideRange(header, size)).to.deep.equal({ kind: 'partial', ranges: expected });
    });
  }

  const unsatisfiable: [string, number][] = [
    ['bytes=37-', 37],
    ['bytes=100-200', 37],
    ['bytes=-0', 37],
    ['bytes=0-', 0],
    ['bytes=-1', 0],
  ];
  for (const [header, size] of unsatisfiable) {
    it(`${header} on ${size} bytes is unsatisfiable`, () => {
      expect(decideRange(header, size)).to.deep.equal({ kind: 'unsatisfiable' });
    });
  }

  const ignored: [string | undefined, string][] = [
    [undefined, 'absent'],
    ['items=0-1', 'another unit'],
    ['bytes=', 'no range-spec'],
    ['bytes=-', 'a bare dash'],
    ['bytes=abc', 'letters'],
    ['bytes=5-3', 'last before first (invalid, RFC 9110 §14.1.1)'],
    ['bytes=0-1,', 'a trailing empty spec'],
    ['bytes=0-1;x', 'trailing garbage'],
    ['bytes=1.5-2', 'a decimal'],
    ['bytes=99999999999999999999-', 'a position past 2^53'],
    ['0-9', 'no unit'],
  ];
  for (const [header, what] of ignored) {
    it(`ignores ${what}: ${String(header)}`, () => {
      expect(decideRange(header, 37)).to.deep.equal({ kind: 'full' });
    });
  }

  it('ignores more range-specs than maxRanges', () => {
    expect(decideRange('bytes=0-0,2-2,4-4', 37, { maxRanges: 2 })).to.deep.equal({ kind: 'full' });
    expect(decideRange('bytes=0-0,2-2', 37, { maxRanges: 2 }).kind).to.equal('partial');
  });

  it('applies the default cap of 16', () => {
    const specs = (n: number) => Array.from({ length: n }, (_, i) => `${i * 2}-${i * 2}`).join(',');
    expect(decideRange(`bytes=${specs(16)}`, 100).kind).to.equal('partial');
    expect(decideRange(`bytes=${specs(17)}`, 100).kind).to.equal('full');
  });
});

describe('Content-Range values', () => {
  it('formats a satisfied range and an unsatisfied one', () => {
    expect(contentRange({ start: 0, end: 9 }, 37)).to.equal('bytes 0-9/37');
    expect(unsatisfiedRange(37)).to.equal('bytes */37');
  });
});
