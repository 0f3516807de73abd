import { expect } from 'chai';
import { Readable } from 'node:stream';
import { STORAGE_ERROR_CODES, type StorageError } from '../../errors.ts';
import type { Storage, StorageContent } from '../../storage.ts';
import { collect, within } from './bytes.ts';
import { capability, rejection, type Context } from './context.ts';
import type { TestControl } from './runner.ts';

const SAVED = 'Grüße ✓';

const CONTENTS: [string, () => StorageContent][] = [
  ['a string', () => SAVED],
  ['a Buffer', () => Buffer.from(SAVED)],
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

/**
 * `save()` and `delete()`, when the storage has them and saves: a driver whose `save` rejects
 * with ERR_STORAGE_UNSUPPORTED is read-only, and the block is skipped.
 */
export function describeWrites(ctx: Context): void {
  ctx.hooks.describe('save and delete (when supported)', () => {
    for (const [what, content] of CONTENTS) {
      ctx.test(`save stores ${what}, replacing any previous file`, async (t) => {
        const save = await saving(ctx.storage, t);
        await save('saved/file.txt', 'old content, longer than the new one');
        await save('saved/file.txt', content());
        const read = callName('saved/file.txt');
        const stream = await within(ctx.storage.open('saved/file.txt'), ctx.timeout, read);
        expect((await collect(stream, ctx.timeout, read)).toString(), read).to.equal(SAVED);
        const { size } = await ctx.storage.stat('saved/file.txt');
        expect(size, 'size after save').to.equal(Buffer.byteLength(SAVED));
      });
    }

    ctx.test('delete removes a file, and a second delete is ERR_STORAGE_NOT_FOUND', async (t) => {
      await saving(ctx.storage, t);
      const remove = capability(ctx.storage, 'delete') ?? t.skip('the storage has no delete()');
      await remove('probe.txt');
      const gone = await rejection(ctx.storage.stat('probe.txt'));
      expect(gone.code, 'stat after delete').to.equal(STORAGE_ERROR_CODES.notFound);
      const exists = capability(ctx.storage, 'exists');
      if (exists) expect(await exists('probe.txt'), 'exists after delete').to.equal(false);
      const again = await rejection(remove('probe.txt'));
      expect(again.code, 'second delete').to.equal(STORAGE_ERROR_CODES.notFound);
    });
  });
}

function callName(name: string): string {
  return `storage.open(${JSON.stringify(name)}) after save`;
}

/** The storage's `save`, after saving `probe.txt` with it; skips the test for a read-only one. */
async function saving(storage: Storage, t: TestControl): Promise<NonNullable<Storage['save']>> {
  const save = capability(storage, 'save') ?? t.skip('the storage has no save()');
  try {
    await save('probe.txt', 'probe');
  } catch (err) {
    if ((err as StorageError).code !== STORAGE_ERROR_CODES.unsupported) throw err;
    t.skip('read-only: save() says ERR_STORAGE_UNSUPPORTED');
  }
  return save;
}
