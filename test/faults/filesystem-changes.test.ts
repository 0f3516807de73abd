import { expect } from 'chai';
import { appendFile, rename, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { downloadview, StorageFile } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { randomFile, tempTree } from '../support/fixtures.ts';
import { openDescriptorCount } from '../support/http.ts';
import { serve, type TestServer } from '../support/koa.ts';
import {
  answersNext,
  download,
  outcomeOf,
  settle,
  theOneErrorCode,
  type Outcome,
} from './support/outcome.ts';

// Large enough that the client, paused after the first bytes, holds most of it back: the change
// happens while the server still has to read the rest.
const SIZE = 8 * 1024 * 1024;

/** One change made to the file on disk while a slow client is part-way through it. */
interface Change {
  readonly what: string;
  apply(path: string): Promise<void>;
  readonly outcome: Outcome['kind'];
  /** Errors the app reports: one for a broken download, none for a download that stays right. */
  readonly errors: number;
  readonly why: string;
}

const CHANGES: readonly Change[] = [
  {
    what: 'truncated to 1 MiB',
    apply: (path) => truncate(path, 1024 * 1024),
    outcome: 'aborted',
    errors: 1,
    why: 'the bytes past 1 MiB are gone: the client must see a failed download',
  },
  {
    what: 'grown by 1 MiB',
    apply: (path) => appendFile(path, randomFile(1024 * 1024)),
    outcome: 'complete',
    errors: 0,
    why: 'the announced length is read and no more: the bytes sent are the file as it was',
  },
  {
    what: 'replaced by a rename over it',
    apply: async (path) => {
      await writeFile(`${path}.new`, randomFile(SIZE));
      await rename(`${path}.new`, path);
    },
    outcome: 'complete',
    errors: 0,
    why: 'the download holds a descriptor of the old file, which stays whole until it is closed',
  },
];

describe('faults: a file changed on disk while it is being downloaded', function () {
  this.timeout(20_000);
  let server: TestServer;
  let dir: string;
  let original: Buffer;
  beforeEach(async () => {
    original = randomFile(SIZE);
    ({ dir } = await tempTree({ 'data.bin': original }));
    const storage = new FileSystemStorage({ location: dir });
    server = await serve(downloadview({ stallTimeout: 300 }), (ctx) => {
      ctx.body = new StorageFile(storage, 'data.bin');
    });
  });
  afterEach(() => server?.close());

  for (const change of CHANGES) {
    it(`${change.what}: ${change.outcome}, ${change.errors} error(s), since ${change.why}`, async () => {
      const baseline = await openDescriptorCount();
      const wire = await download(server.url, '/data.bin', {
        slowly: async () => {
          await change.apply(join(dir, 'data.bin'));
          // Longer than the stall timeout: a client that reads slowly is not a stalled storage.
          await sleep(600);
        },
      });
      expect(outcomeOf(wire, original).kind).to.equal(change.outcome);
      await settle(baseline);
      if (change.errors === 1) expect(theOneErrorCode(server)).to.equal('ERR_STORAGE_CHANGED');
      else expect(server.errors).to.deep.equal([]);
      await writeFile(join(dir, 'data.bin'), original);
      await answersNext(server, '/data.bin', original);
    });
  }
});
