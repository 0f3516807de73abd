import { expect } from 'chai';
import { parseEtagList, statEtag, strongMatch, weakMatch } from '../../src/http/etag.ts';

describe('entity tags', () => {
  it('statEtag is strong and changes with size or mtime (whole seconds, as Last-Modified)', () => {
    const base = statEtag(37, new Date(1_000_000));
    expect(base).to.match(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(statEtag(38, new Date(1_000_000))).to.not.equal(base);
    expect(statEtag(37, new Date(1_001_000))).to.not.equal(base);
    expect(statEtag(37, new Date(1_000_999))).to.equal(base);
  });

  it("statEtag has nginx's format: mtime seconds and size in hex (1700000000 s, 1 MiB)", () => {
    expect(statEtag(1_048_576, new Date(1_700_000_000_000))).to.equal('"6553f100-100000"');
  });

  const lists: [string, string[] | '*'][] = [
    ['"a"', ['"a"']],
    ['"a", W/"b"', ['"a"', 'W/"b"']],
    [' "a" ,"b" ', ['"a"', '"b"']],
    ['"with,comma", "x"', ['"with,comma"', '"x"']],
    ['*', '*'],
    ['', []],
    ['garbage', []],
    ['"a", garbage', ['"a"']],
  ];
  for (const [header, tags] of lists) {
    it(`parses ${JSON.stringify(header)}`, () => {
      expect(parseEtagList(header)).to.deep.equal(tags);
    });
  }

  const comparisons: [string, string, boolean, boolean][] = [
    ['W/"1"', 'W/"1"', false, true],
    ['W/"1"', 'W/"2"', false, false],
    ['W/"1"', '"1"', false, true],
    ['"1"', '"1"', true, true],
  ];
  for (const [a, b, strong, weak] of comparisons) {
    it(`${a} vs ${b}: strong ${strong}, weak ${weak} (RFC 9110 §8.8.3.2)`, () => {
      expect([strongMatch(a, b), weakMatch(a, b)]).to.deep.equal([strong, weak]);
    });
  }
});
