import { expect } from 'chai';
import { checkOptionKeys } from '../src/options.ts';
import {
  apache,
  auto,
  caddy,
  downloadview,
  HttpFile,
  httpDownload,
  lighttpd,
  nginx,
  objectDownload,
  PathFile,
  pathDownload,
  redirect,
  StorageFile,
  storageDownload,
  streaming,
  VirtualFile,
  virtualDownload,
  xAccelRedirect,
  xSendfile,
} from '../src/index.ts';
import { MemoryStorage } from '../storages/memory.ts';

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

describe('edges: every factory refuses an unknown option at set-up, naming it', () => {
  // Each call misspells one option; the error must name the misspelt key.
  const storage = new MemoryStorage();
  const handler = () => undefined;
  const cases: [string, () => unknown][] = [
    ['downloadview', () => downloadview({ maxRange: 3 } as never)],
    ['streaming', () => streaming({ maxRange: 3 } as never)],
    ['nginx', () => nginx({ expire: 60 } as never)],
    ['apache', () => apache({ path: '/x' } as never)],
    ['lighttpd', () => lighttpd({ path: '/x' } as never)],
    ['caddy', () => caddy({ path: '/x' } as never)],
    ['redirect', () => redirect({ code: 307 } as never)],
    ['auto', () => auto({ trustedProxies: ['127.0.0.1'], trusted: [] } as never)],
    [
      'downloadview rule #1',
      () =>
        downloadview({
          backend: 'nginx',
          rules: [{ sourceUrl: '/a/', destinationUrl: '/b/', destinationURL: '/c/' } as never],
        }),
    ],
    [
      'xAccelRedirect',
      () => xAccelRedirect(handler, { sourceDir: '/a', destinationUrl: '/b/', expire: 1 } as never),
    ],
    ['xSendfile', () => xSendfile(handler, { sourceDir: '/a', destDir: '/b' } as never)],
    ['storageDownload', () => storageDownload({ storage, file: 'a' } as never)],
    ['pathDownload', () => pathDownload({ root: '/srv', dotFiles: 'allow' } as never)],
    ['virtualDownload', () => virtualDownload({ name: 'a', content: '', type: 'x' } as never)],
    ['httpDownload', () => httpDownload({ url: 'http://a/', timeOut: 5 } as never)],
    [
      'objectDownload',
      () => objectDownload({ load: () => null, field: 'f', fileName: 'x' } as never),
    ],
    ['StorageFile', () => new StorageFile(storage, 'a', { fileName: 'b' } as never)],
    ['PathFile', () => new PathFile('/a', { roots: '/' } as never)],
    ['VirtualFile', () => new VirtualFile('x', { name: 'a', mtime: new Date() } as never)],
    ['HttpFile', () => new HttpFile('http://a/', { timeOut: 5 } as never)],
  ];
  for (const [where, make] of cases) {
    it(`${where}`, () => {
      expect(make).to.throw(TypeError, new RegExp(`^${where}: unknown option "`));
    });
  }
});
