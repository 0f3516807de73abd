import { expect } from 'chai';
import { once } from 'node:events';
import { fstatSync, openSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { StorageChangedError } from '../../src/index.ts';
import { FileSystemStorage } from '../../storages/filesystem.ts';
import { regularFileStat } from '../../storages/filesystem-file.ts';
import { tempTree } from '../support/fixtures.ts';

// Linux names the file open at a descriptor "<path> (deleted)" once it was removed or replaced
// by a rename. path() reads that name to confine the file: such a name must never be returned,
// since it is what an offload header then names, and a file called so may be another one.
describe('security: FileSystemStorage.path() never names a file removed or replaced while opened', function () {
  this.timeout(20_000);

  it('refuses the descriptor of a removed file as changed (ERR_STORAGE_CHANGED), and closes it', async () => {
    const { dir } = await tempTree({ 'a.txt': 'a' });
    const fd = openSync(join(dir, 'a.txt'), 'r');
    unlinkSync(join(dir, 'a.txt'));
    expect(() => regularFileStat(fd, 'a.txt', { linked: true })).to.throw(StorageChangedError);
    // Checked at once, in the same tick: nothing else can have been given the number since.
    expect(() => fstatSync(fd)).to.throw(/EBADF/);
  });

  for (const lookups of ['blocking', 'thread-pool'] as const) {
    it(`gives the real path, never "… (deleted)", while the file is replaced by a rename every millisecond (lookups: '${lookups}')`, async () => {
      const { dir } = await tempTree({ 'probe.txt': 'v0', 'probe.txt (deleted)': 'SECRET' });
      const storage = new FileSystemStorage({ location: dir, lookups });
      const expected = join(storage.location, 'probe.txt');
      // In a thread of its own, so that the renames race blocking lookups too.
      const replacer = new Worker(
        `const { renameSync, writeFileSync } = require('node:fs');
         const { join } = require('node:path');
         const { workerData: dir } = require('node:worker_threads');
         for (let i = 0; i < 1000; i++) {
           writeFileSync(join(dir, 'next.tmp'), 'v' + i);
           renameSync(join(dir, 'next.tmp'), join(dir, 'probe.txt'));
           Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1);
         }`,
        { eval: true, workerData: dir },
      );
      let replacing = true;
      const replaced = once(replacer, 'exit').then(() => (replacing = false));
      const seen = new Set<string>();
      let changed = 0;
      let calls = 0;
      try {
        while (replacing) {
          const results = await Promise.allSettled(
            Array.from({ length: 8 }, () => storage.path('probe.txt')),
          );
          calls += results.length;
          // Blocking lookups never leave the event loop: the replacer's timers run here.
          await new Promise((resolve) => setImmediate(resolve));
          for (const result of results) {
            if (result.status === 'fulfilled') seen.add(result.value);
            else if (result.reason instanceof StorageChangedError) changed++;
            else throw result.reason;
          }
        }
      } finally {
        await replaced;
      }
      expect(calls, 'path() calls made while the file was replaced').to.be.above(500);
      expect([...seen]).to.deep.equal([expected]);
      // Under such a storm, a call that finds the file replaced three times in a row says so
      // (503, a retry works): never a wrong name.
      console.log(
        `      ${calls} calls: ${calls - changed} named the file, ${changed} refused as changed`,
      );
      expect(calls - changed, 'calls that named the file').to.be.above(0);
    });
  }
});
