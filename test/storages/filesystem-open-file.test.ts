import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { appendFile, mkdir, mkdtemp, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import {
  STORAGE_ERROR_CODES,
  StorageChangedError,
  StorageInvalidNameError,
  StorageNotFoundError,
} from '../../src/errors.ts';
import type { OpenedFile } from '../../src/storage.ts';
import { rejection } from '../../src/testing/storage-contract.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { HELLO, randomFile, tempTree } from '../support/fixtures.ts';
import { openDescriptorCount } from '../support/http.ts';
import { skipOrFail } from '../support/skip.ts';
import { buffer } from 'node:stream/consumers';

const LINUX = process.platform === 'linux';
const BIG = randomFile(300 * 1024);
const SECRET = Buffer.from('outside the root\n');

/** Rejects when `promise` has not settled within `ms`: a hang fails the test, it does not stall it. */
function within<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

async function until(check: () => boolean | Promise<boolean>, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await sleep(10);
  }
}

describe('FileSystemStorage.openFile', () => {
  let root: string;
  let outside: string;
  let storage: FileSystemStorage;
  let cleanup: () => Promise<void>;
  /** Descriptors open before the test (Linux), to prove the test left none behind. */
  let baseline: number | undefined;

  before(async () => {
    const tree = await tempTree({
      'hello.txt': HELLO,
      'big.bin': BIG,
      'empty.txt': '',
      'dir/inner.txt': 'inner file\n',
      'dir/deeper/leaf.txt': 'leaf\n',
    });
    outside = await mkdtemp(join(tmpdir(), 'kdv-outside-'));
    await writeFile(join(outside, 'secret.txt'), SECRET);
    root = tree.dir;
    cleanup = async () => {
      await tree.cleanup();
      await rm(outside, { recursive: true, force: true });
      await rm(`${root}-sibling`, { recursive: true, force: true });
    };
    // Links inside the root, to files and directories inside it.
    await symlink(join(root, 'hello.txt'), join(root, 'link-to-hello.txt'));
    await symlink('inner.txt', join(root, 'dir', 'relative-link.txt'));
    await symlink('link-to-hello.txt', join(root, 'link-to-link.txt'));
    await symlink(join(root, 'dir'), join(root, 'link-to-dir'));
    await symlink('../..', join(root, 'dir', 'deeper', 'up'));
    // Links leading outside the root: last component, intermediate directory, and relative.
    await symlink(join(outside, 'secret.txt'), join(root, 'out-file.txt'));
    await symlink(outside, join(root, 'out-dir'));
    await symlink('../../../../../../../../..' + outside, join(root, 'dir', 'out-relative'));
    await symlink(join(outside, 'secret.txt'), join(root, 'dir', 'out-inner.txt'));
    // A sibling of the root whose name starts with the root's: outside, however it looks.
    await mkdir(`${root}-sibling`);
    await writeFile(join(`${root}-sibling`, 'secret.txt'), SECRET);
    await symlink(`${root}-sibling`, join(root, 'sibling'));
    await symlink(join(`${root}-sibling`, 'secret.txt'), join(root, 'sibling.txt'));
    // Broken ones.
    await symlink(join(root, 'absent.txt'), join(root, 'dangling.txt'));
    await symlink('loop.txt', join(root, 'loop.txt'));
    storage = new FileSystemStorage({ location: root });
  });
  after(() => cleanup());

  beforeEach(async () => {
    baseline = LINUX ? await openDescriptorCount() : undefined;
  });
  afterEach(async function () {
    // Every test releases what it opened; a failed test may not have, so only passes are checked.
    if (baseline === undefined || this.currentTest?.state !== 'passed') return;
    await until(async () => (await openDescriptorCount()) <= baseline!).catch(() => {
      throw new Error(`descriptors leaked: ${baseline} before the test`);
    });
  });

  describe('names it refuses, with no descriptor left open', () => {
    const hostile = [
      '..',
      '../x',
      'dir/../../x',
      './hello.txt',
      '/etc/passwd',
      '/hello.txt',
      'C:/Windows/win.ini',
      'a\0b',
      'hello.txt\0.png',
      '..\\x',
      'dir\\..\\..\\x',
      '\\\\server\\share',
      '',
      '//',
    ];
    for (const name of hostile) {
      it(`refuses ${JSON.stringify(name)} with StorageInvalidNameError`, async () => {
        const err = await rejection(storage.openFile(name));
        expect(err).to.be.instanceOf(StorageInvalidNameError);
        expect(err.code).to.equal(STORAGE_ERROR_CODES.invalidName);
      });
    }

    const escapes: [string, string][] = [
      ['out-file.txt', 'a last component linking to a file outside'],
      ['out-dir/secret.txt', 'an intermediate directory linking outside'],
      ['dir/out-relative/secret.txt', 'a relative directory link climbing outside'],
      ['dir/out-inner.txt', 'a link in a subdirectory to a file outside'],
      ['link-to-dir/out-inner.txt', 'a link inside reaching a link outside'],
      ['out-dir', 'a last component linking to a directory outside'],
      ['sibling/secret.txt', 'a directory link to a sibling named like the root'],
      ['sibling.txt', 'a file link into a sibling named like the root'],
    ];
    for (const [name, what] of escapes) {
      it(`refuses ${what} (${name}) with StorageInvalidNameError`, async () => {
        const err = await rejection(storage.openFile(name));
        expect(err).to.be.instanceOf(StorageInvalidNameError);
        expect(err.code).to.equal(STORAGE_ERROR_CODES.invalidName);
        expect(err.message).not.to.include(outside);
      });
    }

    it('refuses the absolute path of a file inside the root', async () => {
      for (const name of [join(root, 'hello.txt'), `${root}//hello.txt`]) {
        expect(await rejection(storage.openFile(name)), name).to.be.instanceOf(
          StorageInvalidNameError,
        );
      }
    });

    it('refuses a symbolic link loop with StorageInvalidNameError', async () => {
      const err = await rejection(storage.openFile('loop.txt'));
      expect(err).to.be.instanceOf(StorageInvalidNameError);
    });

    it('refuses a link whose target does not exist with StorageNotFoundError', async () => {
      expect(await rejection(storage.openFile('dangling.txt'))).to.be.instanceOf(
        StorageNotFoundError,
      );
    });

    it('refuses a missing file and a missing directory with StorageNotFoundError', async () => {
      for (const name of ['absent.txt', 'absent/x.txt', 'hello.txt/x']) {
        const err = await rejection(storage.openFile(name));
        expect(err, name).to.be.instanceOf(StorageNotFoundError);
        expect(err.code).to.equal(STORAGE_ERROR_CODES.notFound);
      }
    });

    it('answers StorageNotFoundError for a directory, or a link to one', async () => {
      for (const name of ['dir', 'dir/', 'dir/deeper', 'link-to-dir', 'dir/deeper/up']) {
        expect(await rejection(storage.openFile(name)), name).to.be.instanceOf(
          StorageNotFoundError,
        );
      }
    });

    it('refuses them all in a burst without leaking one descriptor', async () => {
      const names = ['out-file.txt', 'out-dir/secret.txt', 'dir', 'absent.txt', 'loop.txt'];
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => storage.openFile(names[i % names.length]!)),
      );
      expect(results.every((r) => r.status === 'rejected')).to.equal(true);
    });
  });

  describe('FIFOs under the root', () => {
    before(async function () {
      try {
        await promisify(execFile)('mkfifo', [join(root, 'pipe'), join(outside, 'pipe')]);
      } catch {
        skipOrFail(this, 'mkfifo is not installed');
      }
      await symlink(join(root, 'pipe'), join(root, 'link-to-pipe'));
      await symlink(join(outside, 'pipe'), join(root, 'out-pipe'));
    });

    it('refuses a FIFO at once with StorageNotFoundError, without waiting for a writer', async () => {
      const err = await within(rejection(storage.openFile('pipe')), 2000);
      expect(err).to.be.instanceOf(StorageNotFoundError);
    });

    it('refuses a link to a FIFO at once (the resolve-first path)', async () => {
      const err = await within(rejection(storage.openFile('link-to-pipe')), 2000);
      expect(err).to.be.instanceOf(StorageNotFoundError);
    });

    it('refuses a FIFO outside the root, reached through an intermediate link, at once', async () => {
      const err = await within(rejection(storage.openFile('out-dir/pipe')), 2000);
      expect(err).to.be.instanceOf(StorageInvalidNameError);
      const last = await within(rejection(storage.openFile('out-pipe')), 2000);
      expect(last).to.be.instanceOf(StorageInvalidNameError);
    });

    it('stat() agrees: a FIFO is not found', async () => {
      expect(await within(rejection(storage.stat('pipe')), 2000)).to.be.instanceOf(
        StorageNotFoundError,
      );
    });
  });

  it('refuses a Unix socket under the root with StorageNotFoundError, as stat() does', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(join(root, 'app.sock'), resolve));
    try {
      expect(await rejection(storage.openFile('app.sock'))).to.be.instanceOf(StorageNotFoundError);
      expect(await rejection(storage.stat('app.sock'))).to.be.instanceOf(StorageNotFoundError);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  describe('links that stay inside the root are followed', () => {
    const served: [string, string, Buffer | string][] = [
      ['link-to-hello.txt', 'an absolute link as last component', HELLO],
      ['link-to-link.txt', 'a link to a link', HELLO],
      ['dir/relative-link.txt', 'a relative link in a subdirectory', 'inner file\n'],
      ['link-to-dir/inner.txt', 'an intermediate directory link', 'inner file\n'],
      [
        'link-to-dir/relative-link.txt',
        'an intermediate link, then a last-component link',
        'inner file\n',
      ],
      ['dir/deeper/up/dir/deeper/leaf.txt', 'a relative link up to the root', 'leaf\n'],
    ];
    for (const [name, what, content] of served) {
      it(`serves ${what} (${name})`, async () => {
        const expected = Buffer.from(content);
        const file = await storage.openFile(name);
        expect(file.stat.size).to.equal(expected.length);
        expect((await file.read()).equals(expected)).to.equal(true);
        expect(
          (await buffer(await (await storage.openFile(name)).stream())).equals(expected),
        ).to.equal(true);
      });
    }

    it('works when the root itself is reached through a link', async () => {
      const holder = await mkdtemp(join(tmpdir(), 'kdv-link-'));
      try {
        await symlink(root, join(holder, 'root'));
        const linked = new FileSystemStorage({ location: join(holder, 'root') });
        expect((await (await linked.openFile('hello.txt')).read()).equals(HELLO)).to.equal(true);
        expect((await (await linked.openFile('link-to-hello.txt')).read()).equals(HELLO)).to.equal(
          true,
        );
        expect(await rejection(linked.openFile('out-dir/secret.txt'))).to.be.instanceOf(
          StorageInvalidNameError,
        );
      } finally {
        await rm(holder, { recursive: true, force: true });
      }
    });

    it('gives a link the metadata of its target, as stat() does', async () => {
      const file = await storage.openFile('link-to-hello.txt');
      file.close();
      const target = await storage.stat('hello.txt');
      expect(file.stat).to.deep.equal(target);
      expect(await storage.stat('link-to-hello.txt')).to.deep.equal(target);
    });
  });

  describe('reading', () => {
    it('read() gives the whole file as one Buffer', async () => {
      const file = await storage.openFile('big.bin');
      expect(file.stat.size).to.equal(BIG.length);
      const read = await file.read();
      expect(Buffer.isBuffer(read)).to.equal(true);
      expect(read.equals(BIG)).to.equal(true);
    });

    const ranges: [string, number, number][] = [
      ['the first byte', 0, 0],
      ['the last byte', BIG.length - 1, BIG.length - 1],
      ['a range across chunk boundaries', 65_000, 200_000],
      ['the whole file', 0, BIG.length - 1],
    ];
    for (const [what, start, end] of ranges) {
      it(`read(range) and stream(range) give ${what} byte for byte`, async () => {
        const expected = BIG.subarray(start, end + 1);
        const read = await (await storage.openFile('big.bin')).read({ start, end });
        expect(read.length).to.equal(expected.length);
        expect(read.equals(expected)).to.equal(true);
        const streamed = await buffer(
          await (await storage.openFile('big.bin')).stream({ start, end }),
        );
        expect(streamed.equals(expected)).to.equal(true);
      });
    }

    it('read() of an empty file is an empty Buffer, and stream() ends at once', async () => {
      const file = await storage.openFile('empty.txt');
      expect(file.stat.size).to.equal(0);
      const read = await file.read();
      expect(Buffer.isBuffer(read)).to.equal(true);
      expect(read.length).to.equal(0);
      expect((await buffer(await (await storage.openFile('empty.txt')).stream())).length).to.equal(
        0,
      );
    });

    it('streams in chunks of readChunkSize', async () => {
      const small = new FileSystemStorage({ location: root, readChunkSize: 1000 });
      const chunks: Buffer[] = [];
      for await (const chunk of await (await small.openFile('big.bin')).stream()) {
        chunks.push(chunk as Buffer);
      }
      expect(Buffer.concat(chunks).equals(BIG)).to.equal(true);
      expect(Math.max(...chunks.map((c) => c.length))).to.equal(1000);
    });

    it('open() reads through openFile with the same confinement', async () => {
      expect((await buffer(await storage.open('link-to-dir/inner.txt'))).toString()).to.equal(
        'inner file\n',
      );
      expect(await rejection(storage.open('out-dir/secret.txt'))).to.be.instanceOf(
        StorageInvalidNameError,
      );
    });
  });

  describe('one version: metadata and bytes from one descriptor', () => {
    let tree: { dir: string; cleanup: () => Promise<void> };
    let own: FileSystemStorage;
    beforeEach(async () => {
      tree = await tempTree({ 'a.txt': HELLO });
      own = new FileSystemStorage({ location: tree.dir });
    });
    afterEach(() => tree.cleanup());

    it('read() rejects with StorageChangedError when the file shrank after openFile', async () => {
      const file = await own.openFile('a.txt');
      await truncate(join(tree.dir, 'a.txt'), 10);
      const err = await rejection(file.read());
      expect(err).to.be.instanceOf(StorageChangedError);
      expect(err.code).to.equal(STORAGE_ERROR_CODES.changed);
    });

    it('read(range) rejects with StorageChangedError when the range is no longer there', async () => {
      const file = await own.openFile('a.txt');
      await truncate(join(tree.dir, 'a.txt'), 10);
      expect(await rejection(file.read({ start: 20, end: 30 }))).to.be.instanceOf(
        StorageChangedError,
      );
    });

    it('read(range) of a part still there after a shrink succeeds', async () => {
      const file = await own.openFile('a.txt');
      await truncate(join(tree.dir, 'a.txt'), 10);
      expect((await file.read({ start: 2, end: 5 })).toString()).to.equal('2345');
    });

    it('read() after the file grew gives the size openFile reported', async () => {
      const file = await own.openFile('a.txt');
      await appendFile(join(tree.dir, 'a.txt'), 'appended');
      expect((await file.read()).equals(HELLO)).to.equal(true);
    });

    it('read() after the name was replaced (save renames) gives the old version', async () => {
      const file = await own.openFile('a.txt');
      await own.save('a.txt', 'a new version');
      expect((await file.read()).equals(HELLO)).to.equal(true);
      expect((await (await own.openFile('a.txt')).read()).toString()).to.equal('a new version');
    });

    it('read() after the name was deleted still gives the bytes', async () => {
      const file = await own.openFile('a.txt');
      await own.delete('a.txt');
      expect((await file.read()).equals(HELLO)).to.equal(true);
    });
  });

  describe('consumed once, released once', () => {
    const consumed = (err: unknown) => {
      expect(err).to.be.instanceOf(Error);
      expect((err as Error).message).to.match(/already read or closed/);
      return true;
    };

    it('a second read() rejects, and so does stream() after read()', async () => {
      const file = await storage.openFile('hello.txt');
      await file.read();
      expect(await file.read().then(() => false, consumed)).to.equal(true);
      expect(await file.stream().then(() => false, consumed)).to.equal(true);
    });

    it('read() after stream() rejects, and so does a second stream()', async () => {
      const file = await storage.openFile('hello.txt');
      expect((await buffer(await file.stream())).equals(HELLO)).to.equal(true);
      expect(await file.read().then(() => false, consumed)).to.equal(true);
      expect(await file.stream().then(() => false, consumed)).to.equal(true);
    });

    it('read() after close() rejects', async () => {
      const file = await storage.openFile('hello.txt');
      file.close();
      expect(await file.read().then(() => false, consumed)).to.equal(true);
    });

    it('close() is idempotent, and a no-op after read() and after stream()', async () => {
      const closed = await storage.openFile('hello.txt');
      closed.close();
      closed.close();
      const read = await storage.openFile('hello.txt');
      await read.read();
      read.close();
      read.close();
      const streamed = await storage.openFile('big.bin');
      const stream = await streamed.stream();
      // The stream owns the descriptor now: close() must not cut it short.
      streamed.close();
      expect((await buffer(stream)).equals(BIG)).to.equal(true);
    });

    it('a failed read() releases the descriptor too', async () => {
      const tree = await tempTree({ 'a.txt': HELLO });
      try {
        const own = new FileSystemStorage({ location: tree.dir });
        const file = await own.openFile('a.txt');
        await truncate(join(tree.dir, 'a.txt'), 0);
        await rejection(file.read());
        file.close();
      } finally {
        await tree.cleanup();
      }
    });

    (LINUX ? it : it.skip)('holds exactly one descriptor until read, stream or close', async () => {
      const opened: OpenedFile[] = [];
      for (let i = 0; i < 5; i++) opened.push(await storage.openFile('big.bin'));
      expect(await openDescriptorCount()).to.equal(baseline! + 5);
      await opened[0]!.read({ start: 0, end: 9 });
      await buffer(await opened[1]!.stream({ start: 100, end: 100_000 }));
      opened[2]!.close();
      const destroyed = await opened[3]!.stream();
      await new Promise((resolve) => destroyed.once('readable', resolve));
      destroyed.destroy();
      await new Promise((resolve) => destroyed.once('close', resolve));
      await until(async () => (await openDescriptorCount()) === baseline! + 1);
      opened[4]!.close();
    });
  });
});
