import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setImmediate as tick } from 'node:timers/promises';
import { StorageNotFoundError } from '../../src/errors.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { tempTree } from '../support/fixtures.ts';
import { gate, listFiles } from './support.ts';

// materialize() relies on FileSystemStorage.save() being atomic: a reader (the app's stat, or
// nginx reading the path) sees the previous file or the new one, whole, never a part.

describe('FileSystemStorage.save() is atomic', function () {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeEach(async () => ({ dir, cleanup } = await tempTree({ 'r/old.txt': 'previous copy\n' })));
  afterEach(() => cleanup());

  /** A stream that sends `first`, waits for `release`, then sends `rest` or fails. */
  function paused(first: string, release: Promise<void>, rest: string | Error): Readable {
    async function* parts() {
      yield Buffer.from(first);
      await release;
      if (rest instanceof Error) throw rest;
      yield Buffer.from(rest);
    }
    return Readable.from(parts(), { objectMode: false });
  }

  async function waitForTemporary(): Promise<string> {
    for (;;) {
      const temporary = (await listFiles(dir)).find((name) => name.endsWith('.tmp'));
      if (temporary) return temporary;
      await tick();
    }
  }

  it('a new name does not exist until its last byte is written', async function () {
    const storage = new FileSystemStorage({ location: dir });
    const release = gate();
    const saving = storage.save('r/new.txt', paused('half', release.opened, ' and the rest'));
    await waitForTemporary();
    const early = await storage.stat('r/new.txt').catch((err: unknown) => err);
    expect(early).to.be.instanceOf(StorageNotFoundError);
    release.open();
    await saving;
    expect(await readFile(join(dir, 'r/new.txt'), 'utf8')).to.equal('half and the rest');
    expect(await listFiles(dir)).to.deep.equal(['r/new.txt', 'r/old.txt']);
  });

  it('an overwrite keeps the previous file whole until it is replaced', async function () {
    const storage = new FileSystemStorage({ location: dir });
    const release = gate();
    const saving = storage.save('r/old.txt', paused('new ', release.opened, 'copy\n'));
    await waitForTemporary();
    expect(await readFile(join(dir, 'r/old.txt'), 'utf8')).to.equal('previous copy\n');
    release.open();
    await saving;
    expect(await readFile(join(dir, 'r/old.txt'), 'utf8')).to.equal('new copy\n');
  });

  it('a failed write leaves the previous file and no temporary file', async function () {
    const storage = new FileSystemStorage({ location: dir });
    const release = gate();
    const saving = storage.save('r/old.txt', paused('new ', release.opened, new Error('cut')));
    await waitForTemporary();
    release.open();
    const failure = await saving.then(
      () => undefined,
      (err: Error) => err,
    );
    expect((failure?.cause as Error | undefined)?.message).to.equal('cut');
    expect(await listFiles(dir)).to.deep.equal(['r/old.txt']);
    expect(await readFile(join(dir, 'r/old.txt'), 'utf8')).to.equal('previous copy\n');
  });
});
