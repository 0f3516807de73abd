import { collect, expectBytes, within } from './bytes.ts';
import { EDGE_RANGES, RANDOM_NAME, callName, fixture, type Context } from './context.ts';

/** Ranged reads through `open(name, range)`, at the edges where off-by-one bugs show. */
export function describeRanges(ctx: Context): void {
  for (const [what, make] of EDGE_RANGES) {
    ctx.test(`open reads ${what}`, async () => {
      const file = fixture(RANDOM_NAME);
      const range = make(file.length);
      const call = callName('open', RANDOM_NAME, range);
      const stream = await within(ctx.storage.open(RANDOM_NAME, range), ctx.timeout, call);
      expectBytes(await collect(stream, ctx.timeout, call), { file, range }, call);
    });
  }
}
