import { expect } from 'chai';
import { formatContentDisposition, parseFilename } from '../../src/http/disposition.ts';

describe('Content-Disposition', () => {
  const names = [
    'a.txt',
    'résumé.pdf',
    'Отчёт.csv',
    '報告書 2026.txt',
    'emoji 🎉.txt',
    'q"uote.txt',
    '100%25.txt',
    'a;b,c.txt',
  ];
  for (const name of names) {
    it(`round-trips ${JSON.stringify(name)} and stays a safe latin1 header`, () => {
      const value = formatContentDisposition(name, true);
      expect(value).to.match(/^attachment; filename="/);
      expect(value).to.not.match(/[\r\n\0]/);
      expect([...value].every((c) => c.charCodeAt(0) <= 0xff)).to.equal(true);
      expect(parseFilename(value)).to.deep.equal({ type: 'attachment', filename: name });
    });
  }

  it('names the file inline too', () => {
    expect(formatContentDisposition('photo.png', false)).to.equal('inline; filename="photo.png"');
  });

  const cleaned: [string, string][] = [
    ['a\r\nb.txt', 'a__b.txt'],
    ['a\0b.txt', 'a_b.txt'],
    ['dir/a.txt', 'a.txt'],
    ['C:\\dir\\a.txt', 'a.txt'],
    ['', 'download'],
    ['dir/', 'download'],
    ['lone \ud800 surrogate', 'lone \ufffd surrogate'],
  ];
  for (const [name, shown] of cleaned) {
    it(`shows ${JSON.stringify(name)} as ${JSON.stringify(shown)}`, () => {
      expect(parseFilename(formatContentDisposition(name, true)).filename).to.equal(shown);
    });
  }

  it('parses a broken value to its type only', () => {
    expect(parseFilename('attachment; filename="unterminated')).to.deep.equal({
      type: 'attachment',
    });
  });
});
