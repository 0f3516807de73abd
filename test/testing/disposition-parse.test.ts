import { expect } from 'chai';
import { formatContentDisposition } from '../../src/http/disposition.ts';
import { parseFilename } from '../../src/testing/disposition-parse.ts';

describe('testing: parseFilename', () => {
  const cases: [string, string, { type: string; filename?: string }][] = [
    ['a plain filename', 'attachment; filename="a.txt"', { type: 'attachment', filename: 'a.txt' }],
    [
      'filename* over the ASCII fallback',
      `attachment; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`,
      { type: 'attachment', filename: 'résumé.pdf' },
    ],
    ['an inline value', 'inline; filename="photo.png"', { type: 'inline', filename: 'photo.png' }],
    ['a value without a name', 'attachment', { type: 'attachment', filename: undefined }],
    [
      'a broken value, to its type only',
      'attachment; filename="unterminated',
      { type: 'attachment' },
    ],
    ['a broken value in capitals, lower-cased', 'ATTACHMENT; filename=', { type: 'attachment' }],
  ];
  for (const [what, value, expected] of cases) {
    it(`parses ${what}: ${JSON.stringify(value)}`, () => {
      expect(parseFilename(value)).to.deep.equal(expected);
    });
  }

  for (const name of ['a.txt', 'résumé.pdf', '報告書 2026.txt', 'q"uote.txt', 'a;b,c.txt']) {
    it(`reads back what formatContentDisposition wrote for ${JSON.stringify(name)}`, () => {
      expect(parseFilename(formatContentDisposition(name, true))).to.deep.equal({
        type: 'attachment',
        filename: name,
      });
    });
  }
});
