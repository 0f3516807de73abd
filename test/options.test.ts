import { expect } from 'chai';
import { checkOptionKeys } from '../src/options.ts';

interface Sample {
  maxRanges?: number;
  etag?: string;
}
const LEGAL = { maxRanges: true, etag: true } as const;

describe('checkOptionKeys', () => {
  it('accepts absent options, an empty object and known keys', () => {
    expect(() => checkOptionKeys<Sample>('f', undefined, LEGAL)).not.to.throw();
    expect(() => checkOptionKeys<Sample>('f', {}, LEGAL)).not.to.throw();
    expect(() => checkOptionKeys<Sample>('f', { maxRanges: 3, etag: 'x' }, LEGAL)).not.to.throw();
  });

  it('names the unknown key and every legal one', () => {
    const misspelt = { maxRange: 3 } as unknown as Sample;
    expect(() => checkOptionKeys('streaming', misspelt, LEGAL)).to.throw(
      TypeError,
      'streaming: unknown option "maxRange"; known options: maxRanges, etag',
    );
  });

  for (const [label, value] of [
    ['null', null],
    ['a string', 'maxRanges'],
    ['an array', []],
    ['a number', 3],
  ] as const) {
    it(`refuses ${label} as options`, () => {
      expect(() => checkOptionKeys('f', value as unknown as Sample, LEGAL)).to.throw(
        TypeError,
        'f: options must be an object',
      );
    });
  }
});
