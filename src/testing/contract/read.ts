import { expect } from 'chai';
import { STORAGE_ERROR_CODES, StorageNotFoundError } from '../../errors.ts';
import type { Storage } from '../../storage.ts';
import { collect, within } from './bytes.ts';
import { expectBytes } from './bytes.ts';
import {
  CONTRACT_FIXTURES,
  HOSTILE_NAMES,
  RANDOM_NAME,
  callName,
  fixture,
  rejection,
  type Context,
} from './context.ts';

/** Whole reads, missing and hostile names, and release of a stream destroyed early. */
export function describeReads(ctx: Context): void {
  for (const name of Object.keys(CONTRACT_FIXTURES)) {
    ctx.test(`open reads ${JSON.stringify(name)} whole`, async () => {
      const what = callName('open', name);
      const stream = await within(ctx.storage.open(name), ctx.timeout, what);
      expectBytes(await collect(stream, ctx.timeout, what), { file: fixture(name) }, what);
    });
  }

  ctx.test('destroying a stream early releases it (it closes)', async () => {
    const what = callName('open', RANDOM_NAME);
    const stream = await within(ctx.storage.open(RANDOM_NAME), ctx.timeout, what);
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.destroy();
    await within(closed, ctx.timeout, `${what}: after destroy(), the stream's 'close'`);
  });

  describeMissing(ctx);
  describeHostile(ctx);
}

function describeMissing(ctx: Context): void {
  const calls: [string, (s: Storage) => Promise<unknown>][] = [
    ['stat', (s) => s.stat('absent.txt')],
    ['open', (s) => s.open('absent.txt')],
    ['open with a range', (s) => s.open('absent.txt', { start: 0, end: 0 })],
  ];
  for (const [what, call] of calls) {
    ctx.test(
      `${what} of a missing name rejects with ERR_STORAGE_NOT_FOUND before any stream exists`,
      async () => {
        const err = await rejection(within(call(ctx.storage), ctx.timeout, what));
        expect(err).to.be.instanceOf(StorageNotFoundError);
        expect(err.code).to.equal(STORAGE_ERROR_CODES.notFound);
      },
    );
  }
}

function describeHostile(ctx: Context): void {
  ctx.hooks.describe('security: hostile names', () => {
    for (const name of HOSTILE_NAMES) {
      ctx.test(
        `stat and open refuse ${JSON.stringify(name)} with ERR_STORAGE_INVALID_NAME`,
        async () => {
          const stat = await rejection(ctx.storage.stat(name));
          expect(stat.code, callName('stat', name)).to.equal(STORAGE_ERROR_CODES.invalidName);
          const open = await rejection(ctx.storage.open(name));
          expect(open.code, callName('open', name)).to.equal(STORAGE_ERROR_CODES.invalidName);
        },
      );
    }
  });
}
