import { expect } from 'chai';
import contentDisposition from 'content-disposition';
import { formatContentDisposition } from '../../src/http/disposition.ts';

/** Type and name as a reference parser (the `content-disposition` package) reads the value. */
function parsed(value: string): { type: string; filename?: string } {
  const { type, parameters } = contentDisposition.parse(value);
  return { type, filename: parameters['filename'] };
}

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
      expect(parsed(value)).to.deep.equal({ type: 'attachment', filename: name });
    });
  }

  it('names the file inline too', () => {
    expect(formatContentDisposition('photo.png', false)).to.equal('inline; filename="photo.png"');
  });

  it('gives the same value again for a name already formatted, per disposition', () => {
    for (const name of ['résumé.pdf', 'photo.png']) {
      const attachment = formatContentDisposition(name, true);
      const inline = formatContentDisposition(name, false);
      expect(inline).to.match(/^inline; /);
      expect(attachment).to.match(/^attachment; /);
      expect(formatContentDisposition(name, true)).to.equal(attachment);
      expect(formatContentDisposition(name, false)).to.equal(inline);
    }
  });

  it('formats every name right through a burst of more distinct names than it keeps', () => {
    for (let i = 0; i < 2500; i++) {
      const name = `r\u00e9sum\u00e9 ${i}.pdf`;
      expect(parsed(formatContentDisposition(name, i % 2 === 0)), name).to.deep.equal({
        type: i % 2 === 0 ? 'attachment' : 'inline',
        filename: name,
      });
    }
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
      expect(parsed(formatContentDisposition(name, true)).filename).to.equal(shown);
    });
  }
});
