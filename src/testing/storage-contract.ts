/// <reference types="mocha" />
import { expect } from 'chai';
import Koa from 'koa';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { isAbsolute } from 'node:path';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { STORAGE_ERROR_CODES, StorageError, StorageNotFoundError } from '../errors.ts';
import { StorageFile } from '../files/storage-file.ts';
import { downloadview } from '../middleware.ts';
import type { OpenedFile, OpenFileOptions, Storage } from '../storage.ts';
import { buffer } from 'node:stream/consumers';

/** What a contract factory may return: a storage, or one with its clean-up. */
export type ContractStorage = Storage | { storage: Storage; cleanup?: () => Promise<void> | void };

/** Builds a fresh storage holding exactly `fixtures` (name → bytes). */
export type ContractFactory = (
  fixtures: Record<string, Uint8Array>,
) => ContractStorage | Promise<ContractStorage>;

const UNICODE_NAME = 'répertoire/naïve 文件.txt';
const AWKWARD_NAME = 'odd names/100% #1 & co.txt';

/** The files every storage under test holds. */
export const CONTRACT_FIXTURES: Readonly<Record<string, Uint8Array>> = Object.freeze({
  'hello.txt': Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz\n'),
  'data/random.bin': randomBytes(100 * 1024),
  'empty.txt': Buffer.alloc(0),
  [UNICODE_NAME]: Buffer.from('unicode ✓\n'),
  [AWKWARD_NAME]: Buffer.from('awkward\n'),
});

/** Ranges at the edges of a file, made from its size: where off-by-one reads show. */
const EDGE_RANGES: [string, (size: number) => { start: number; end: number }][] = [
  ['the first byte', () => ({ start: 0, end: 0 })],
  ['the last byte', (size) => ({ start: size - 1, end: size - 1 })],
  ['a middle range', (size) => ({ start: 10, end: size - 10 })],
  ['the whole file as a range', (size) => ({ start: 0, end: size - 1 })],
];

const HOSTILE_NAMES = ['../x', '/etc/passwd', 'a\\..\\b', 'a\0b', 'a/../../b', ''];

/**
 * The mocha suite every storage driver passes: the built-in ones and yours. `factory` receives
 * the fixture files the storage must hold; optional capabilities (`path`, `url`, `save`,
 * `delete`) are tested when the storage offers them and must otherwise fail with
 * `ERR_STORAGE_UNSUPPORTED`; `openFile` is tested when the storage has the method, and its
 * tests are skipped otherwise. Errors are checked by class and `code`, never by message.
 *
 * @example
 * describeStorageContract('MyStorage', (fixtures) => new MyStorage({ files: fixtures }));
 */
export function describeStorageContract(label: string, factory: ContractFactory): void {
  if (typeof label !== 'string' || label === '') {
    throw new TypeError('describeStorageContract: label must be a non-empty string');
  }
  if (typeof factory !== 'function') {
    throw new TypeError('describeStorageContract: factory must be a function');
  }
  describe(`storage contract: ${label}`, function () {
    const context = { storage: undefined as unknown as Storage, cleanup: async () => {} };
    beforeEach(async function () {
      const made = await factory({ ...CONTRACT_FIXTURES });
      const storage = 'storage' in made ? made.storage : made;
      expect(storage, 'factory result').to.have.property('open').that.is.a('function');
      context.storage = storage;
      context.cleanup = async () => {
        if ('storage' in made) await made.cleanup?.();
      };
    });
    afterEach(() => context.cleanup());
    describeReads(context);
    describeErrors(context);
    describeOptional(context);
    describeOpenFile(context);
    describeWrites(context);
    describeRoundTrip(context);
  });
}

interface Context {
  storage: Storage;
}

/** The rejection of `promise`, which must be a `StorageError`; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (err) {
    expect(err, 'rejection').to.be.instanceOf(StorageError);
    return err as StorageError;
  }
  throw new Error('expected a rejection, but the call succeeded');
}

function fixture(name: string): Buffer {
  return Buffer.from(CONTRACT_FIXTURES[name] ?? []);
}

function describeReads(ctx: Context): void {
  for (const name of Object.keys(CONTRACT_FIXTURES)) {
    it(`stat and open read ${JSON.stringify(name)} whole`, async () => {
      const stat = await ctx.storage.stat(name);
      expect(stat.size).to.equal(fixture(name).length);
      expect(stat.modified).to.be.instanceOf(Date);
      if (stat.etag !== undefined) expect(stat.etag).to.match(/^"[^"]*"$/);
      expect((await buffer(await ctx.storage.open(name))).equals(fixture(name))).to.equal(true);
    });
  }

  for (const [what, make] of EDGE_RANGES) {
    it(`open reads ${what}`, async () => {
      const bytes = fixture('data/random.bin');
      const range = make(bytes.length);
      const read = await buffer(await ctx.storage.open('data/random.bin', range));
      expect(read.equals(bytes.subarray(range.start, range.end + 1))).to.equal(true);
    });
  }

  it('destroying a stream early releases it (it closes)', async () => {
    const stream = await ctx.storage.open('data/random.bin');
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.destroy();
    await closed;
  });

  it('exists tells present from absent names', async () => {
    expect(await ctx.storage.exists('hello.txt')).to.equal(true);
    expect(await ctx.storage.exists('absent.txt')).to.equal(false);
  });
}

function describeErrors(ctx: Context): void {
  const calls: [string, (s: Storage) => Promise<unknown>][] = [
    ['stat', (s) => s.stat('absent.txt')],
    ['open', (s) => s.open('absent.txt')],
    ['open with a range', (s) => s.open('absent.txt', { start: 0, end: 0 })],
  ];
  for (const [what, call] of calls) {
    it(`${what} of a missing name rejects with ERR_STORAGE_NOT_FOUND before any stream exists`, async () => {
      const err = await rejection(call(ctx.storage));
      expect(err).to.be.instanceOf(StorageNotFoundError);
      expect(err.code).to.equal(STORAGE_ERROR_CODES.notFound);
    });
  }

  describe('security: hostile names', () => {
    for (const name of HOSTILE_NAMES) {
      it(`stat and open refuse ${JSON.stringify(name)} with ERR_STORAGE_INVALID_NAME`, async () => {
        expect((await rejection(ctx.storage.stat(name))).code).to.equal(
          STORAGE_ERROR_CODES.invalidName,
        );
        expect((await rejection(ctx.storage.open(name))).code).to.equal(
          STORAGE_ERROR_CODES.invalidName,
        );
      });
    }
  });
}

function describeOptional(ctx: Context): void {
  it('path() gives an absolute path holding the bytes, or says it is unsupported', async () => {
    let path: string;
    try {
      path = await ctx.storage.path(UNICODE_NAME);
    } catch (err) {
      expect((err as StorageError).code).to.equal(STORAGE_ERROR_CODES.unsupported);
      return;
    }
    expect(isAbsolute(path)).to.equal(true);
    expect((await readFile(path)).equals(fixture(UNICODE_NAME))).to.equal(true);
  });

  it('url() percent-encodes each name segment, or says it is unsupported', async () => {
    let url: string;
    try {
      url = await ctx.storage.url(AWKWARD_NAME);
    } catch (err) {
      expect((err as StorageError).code).to.equal(STORAGE_ERROR_CODES.unsupported);
      return;
    }
    expect(url).to.contain('odd%20names/100%25%20%231%20%26%20co.txt');
  });
}

/** Whether `call` fails: throws, rejects, or hands out a stream that errors instead of ending. */
async function fails(call: () => unknown): Promise<boolean> {
  let result: unknown;
  try {
    result = await call();
  } catch {
    return true;
  }
  if (!(result instanceof Readable)) return false;
  try {
    await buffer(result);
    return false;
  } catch {
    return true;
  }
}

function describeOpenFile(ctx: Context): void {
  // Both ways the streaming backend opens: for a plain GET (`whole`, where a network driver may
  // fetch the body with the metadata) and for every other request.
  for (const options of [{ whole: false }, { whole: true }]) {
    describeOpenFileWith(ctx, options);
  }
}

function describeOpenFileWith(ctx: Context, options: OpenFileOptions): void {
  describe(`openFile (when implemented), whole: ${options.whole}`, () => {
    let opened: OpenedFile[] = [];
    /** `storage.openFile(name)` as the driver answers it (the tests run only where it exists). */
    const attempt = (name: string): Promise<OpenedFile> => {
      const { storage } = ctx;
      if (typeof storage.openFile !== 'function') throw new Error('openFile is not implemented');
      return storage.openFile(name, options);
    };
    /** `storage.openFile(name)`, closed after the test whatever happens. */
    const openFile = async (name: string): Promise<OpenedFile> => {
      const file = await attempt(name);
      opened.push(file);
      return file;
    };
    beforeEach(function () {
      opened = [];
      if (typeof ctx.storage.openFile !== 'function') this.skip(); // an optional method
    });
    afterEach(() => {
      for (const file of opened) file.close();
    });

    it('gives the same metadata as stat()', async () => {
      for (const name of Object.keys(CONTRACT_FIXTURES)) {
        const stat = await ctx.storage.stat(name);
        const file = await openFile(name);
        expect(file.stat.size, name).to.equal(stat.size);
        expect(file.stat.modified, name).to.be.instanceOf(Date);
        expect(file.stat.modified.getTime(), name).to.equal(stat.modified.getTime());
        expect(file.stat.etag, name).to.equal(stat.etag);
        expect(file.stat.contentType, name).to.equal(stat.contentType);
        file.close();
      }
    });

    for (const name of Object.keys(CONTRACT_FIXTURES)) {
      it(`read() and stream() give ${JSON.stringify(name)} whole`, async () => {
        const read = await (await openFile(name)).read();
        expect(Buffer.isBuffer(read), 'read() resolves to a Buffer').to.equal(true);
        expect(read.equals(fixture(name))).to.equal(true);
        expect(
          (await buffer(await (await openFile(name)).stream())).equals(fixture(name)),
        ).to.equal(true);
      });
    }

    for (const [what, make] of EDGE_RANGES) {
      it(`read(range) and stream(range) give ${what}, byte for byte`, async () => {
        const bytes = fixture('data/random.bin');
        const range = make(bytes.length);
        const expected = bytes.subarray(range.start, range.end + 1);
        expect((await (await openFile('data/random.bin')).read(range)).equals(expected)).to.equal(
          true,
        );
        const streamed = await buffer(await (await openFile('data/random.bin')).stream(range));
        expect(streamed.equals(expected)).to.equal(true);
      });
    }

    it('rejects a missing name with ERR_STORAGE_NOT_FOUND', async () => {
      const err = await rejection(attempt('absent.txt'));
      expect(err).to.be.instanceOf(StorageNotFoundError);
      expect(err.code).to.equal(STORAGE_ERROR_CODES.notFound);
    });

    it('refuses hostile names with ERR_STORAGE_INVALID_NAME', async () => {
      for (const name of HOSTILE_NAMES) {
        const err = await rejection(attempt(name));
        expect(err.code, JSON.stringify(name)).to.equal(STORAGE_ERROR_CODES.invalidName);
      }
    });

    it('close() can be called again, and after read() or stream()', async () => {
      const unread = await openFile('hello.txt');
      unread.close();
      unread.close();

      const read = await openFile('hello.txt');
      await read.read();
      read.close();
      read.close();

      const streamed = await openFile('data/random.bin');
      expect((await buffer(await streamed.stream())).equals(fixture('data/random.bin'))).to.equal(
        true,
      );
      streamed.close();
      streamed.close();
    });

    // A driver that keeps a descriptor or a pooled connection per opened file would run out
    // here (S3's client pools 50 sockets): close() must give it back without reading.
    it('releases what an unread file holds on close(): 64 in a row, then a read', async () => {
      for (let i = 0; i < 64; i++) (await attempt('data/random.bin')).close();
      const read = await (await openFile('data/random.bin')).read();
      expect(read.equals(fixture('data/random.bin'))).to.equal(true);
    });

    it('is consumed once: reading it again fails', async () => {
      const read = await openFile('hello.txt');
      await read.read();
      expect(await fails(() => read.read()), 'read() after read()').to.equal(true);
      expect(await fails(() => read.stream()), 'stream() after read()').to.equal(true);

      const streamed = await openFile('hello.txt');
      await buffer(await streamed.stream());
      expect(await fails(() => streamed.read()), 'read() after stream()').to.equal(true);
      expect(await fails(() => streamed.stream()), 'stream() after stream()').to.equal(true);

      const closed = await openFile('hello.txt');
      closed.close();
      expect(await fails(() => closed.read({ start: 0, end: 0 })), 'read() after close()').to.equal(
        true,
      );
    });
  });
}

function describeWrites(ctx: Context): void {
  describe('save and delete (when supported)', () => {
    beforeEach(async function () {
      try {
        await ctx.storage.save('probe.txt', 'probe');
      } catch (err) {
        if ((err as StorageError).code !== STORAGE_ERROR_CODES.unsupported) throw err;
        this.skip(); // read-only driver: save must say "unsupported", which it did
      }
    });

    const contents: [string, () => Parameters<Storage['save']>[1]][] = [
      ['a string', () => 'Grüße ✓'],
      ['a Buffer', () => Buffer.from('Grüße ✓')],
      ['a Readable', () => Readable.from([Buffer.from('Grüße '), Buffer.from('✓')])],
      [
        'an async iterable',
        () =>
          (async function* () {
            yield 'Grüße ';
            yield Buffer.from('✓');
          })(),
      ],
    ];
    for (const [what, content] of contents) {
      it(`save stores ${what}, replacing any previous file`, async () => {
        await ctx.storage.save('saved/file.txt', 'old content, longer than the new one');
        await ctx.storage.save('saved/file.txt', content());
        expect((await buffer(await ctx.storage.open('saved/file.txt'))).toString()).to.equal(
          'Grüße ✓',
        );
        expect((await ctx.storage.stat('saved/file.txt')).size).to.equal(
          Buffer.byteLength('Grüße ✓'),
        );
      });
    }

    it('delete removes a file, and a second delete is ERR_STORAGE_NOT_FOUND', async () => {
      await ctx.storage.delete('probe.txt');
      expect(await ctx.storage.exists('probe.txt')).to.equal(false);
      expect((await rejection(ctx.storage.delete('probe.txt'))).code).to.equal(
        STORAGE_ERROR_CODES.notFound,
      );
    });
  });
}

function describeRoundTrip(ctx: Context): void {
  it('serves a range through downloadview() over HTTP (206)', async () => {
    const app = new Koa();
    app.use(downloadview());
    app.use((koa) => {
      koa.body = new StorageFile(ctx.storage, UNICODE_NAME);
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/`, { headers: { Range: 'bytes=1-3' } });
      expect(res.status).to.equal(206);
      expect(res.headers.get('content-range')).to.equal(
        `bytes 1-3/${fixture(UNICODE_NAME).length}`,
      );
      expect(
        Buffer.from(await res.arrayBuffer()).equals(fixture(UNICODE_NAME).subarray(1, 4)),
      ).to.equal(true);
    } finally {
      server.close();
    }
  });
}
