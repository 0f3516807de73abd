import { expect } from 'chai';
import { STORAGE_ERROR_CODES, StorageInvalidNameError } from '../src/errors.ts';
import { encodeNameForUrl, joinUrl, normalizeName } from '../src/names.ts';

describe('normalizeName', () => {
  const accepted: [string, string][] = [
    ['a.txt', 'a.txt'],
    ['reports//2026.pdf', 'reports/2026.pdf'],
    ['dir/sub/', 'dir/sub'],
    ['répertoire/naïve 文件.txt', 'répertoire/naïve 文件.txt'],
    ['.hidden', '.hidden'],
    ['...', '...'],
    ['a..b', 'a..b'],
    ['100% #1 & co.txt', '100% #1 & co.txt'],
  ];
  for (const [name, normal] of accepted) {
    it(`accepts ${JSON.stringify(name)} as ${JSON.stringify(normal)}`, () => {
      expect(normalizeName(name, 'test')).to.equal(normal);
    });
  }

  describe('security: refused names', () => {
    const refused: [string, string][] = [
      ['', 'empty name'],
      ['/', 'absolute path'],
      ['//', 'absolute path'],
      ['/etc/passwd', 'absolute path'],
      ['C:/Windows', 'absolute path'],
      ['c:file', 'absolute path'],
      ['a\\b', 'backslash'],
      ['..\\x', 'backslash'],
      ['a\0b', 'control character'],
      ['a\nb', 'control character'],
      ['a\u007fb', 'control character'],
      ['a\u0085b', 'control character'],
      ['..', 'dot segment'],
      ['../x', 'dot segment'],
      ['a/../../b', 'dot segment'],
      ['a/./b', 'dot segment'],
      ['a/..', 'dot segment'],
      ['lone \ud800 surrogate', 'not well-formed Unicode'],
    ];
    for (const [name, reason] of refused) {
      it(`refuses ${JSON.stringify(name)}: ${reason}`, () => {
        let error: unknown;
        try {
          normalizeName(name, 'test');
        } catch (err) {
          error = err;
        }
        expect(error).to.be.instanceOf(StorageInvalidNameError);
        const invalid = error as StorageInvalidNameError;
        expect(invalid.code).to.equal(STORAGE_ERROR_CODES.invalidName);
        expect(invalid.driver).to.equal('test');
        expect(invalid.message).to.match(new RegExp(`: ${reason}$`));
      });
    }

    it('refuses a value that is not a string', () => {
      expect(() => normalizeName(42 as never, 'test')).to.throw(StorageInvalidNameError);
    });
  });
});

describe('encodeNameForUrl and joinUrl', () => {
  const encoded: [string, string][] = [
    ['a.txt', 'a.txt'],
    ['a b/é.txt', 'a%20b/%C3%A9.txt'],
    ['odd names/100% #1 & co.txt', 'odd%20names/100%25%20%231%20%26%20co.txt'],
    ['q?x=1', 'q%3Fx%3D1'],
  ];
  for (const [name, url] of encoded) {
    it(`encodes each segment of ${JSON.stringify(name)}, keeping the slashes`, () => {
      expect(encodeNameForUrl(name)).to.equal(url);
    });
  }

  const joined: [string, string, string][] = [
    ['/media/', 'a b.txt', '/media/a%20b.txt'],
    ['/media', 'a b.txt', '/media/a%20b.txt'],
    ['https://cdn.example.com/media', 'dir/é.txt', 'https://cdn.example.com/media/dir/%C3%A9.txt'],
    ['https://cdn.example.com/', 'a.txt', 'https://cdn.example.com/a.txt'],
  ];
  for (const [base, name, url] of joined) {
    it(`joins ${JSON.stringify(base)} and ${JSON.stringify(name)} with one slash`, () => {
      expect(joinUrl(base, name)).to.equal(url);
    });
  }
});
