import { expect } from 'chai';
import { readFile } from 'node:fs/promises';
import { isAbsolute } from 'node:path';
import { STORAGE_ERROR_CODES, type StorageError } from '../../errors.ts';
import { expectBytes, within } from './bytes.ts';
import {
  AWKWARD_NAME,
  CONTRACT_FIXTURES,
  UNICODE_NAME,
  callName,
  capability,
  fixture,
  type Context,
} from './context.ts';

/** `stat()` for every fixture, and the optional `exists()`, `path()` and `url()`. */
export function describeMetadata(ctx: Context): void {
  for (const name of Object.keys(CONTRACT_FIXTURES)) {
    ctx.test(
      `stat gives the size, a date and any ETag quoted for ${JSON.stringify(name)}`,
      async () => {
        const what = callName('stat', name);
        const stat = await within(ctx.storage.stat(name), ctx.timeout, what);
        expect(stat.size, `${what}.size`).to.equal(fixture(name).length);
        expect(stat.modified, `${what}.modified`).to.be.instanceOf(Date);
        if (stat.etag !== undefined) expect(stat.etag, `${what}.etag`).to.match(/^"[^"]*"$/);
      },
    );
  }

  ctx.test('exists tells present from absent names (when implemented)', async (t) => {
    const exists = capability(ctx.storage, 'exists') ?? t.skip('the storage has no exists()');
    expect(await exists('hello.txt'), callName('exists', 'hello.txt')).to.equal(true);
    expect(await exists('absent.txt'), callName('exists', 'absent.txt')).to.equal(false);
  });

  ctx.test(
    'path() gives an absolute path holding the bytes, or says it is unsupported',
    async (t) => {
      const path = capability(ctx.storage, 'path') ?? t.skip('the storage has no path()');
      const result = await unlessUnsupported(path(UNICODE_NAME));
      if (result === undefined) return;
      expect(isAbsolute(result), `${callName('path', UNICODE_NAME)} is absolute`).to.equal(true);
      const what = `the file at ${callName('path', UNICODE_NAME)}`;
      expectBytes(await readFile(result), { file: fixture(UNICODE_NAME) }, what);
    },
  );

  ctx.test('url() percent-encodes each name segment, or says it is unsupported', async (t) => {
    const url = capability(ctx.storage, 'url') ?? t.skip('the storage has no url()');
    const result = await unlessUnsupported(url(AWKWARD_NAME));
    if (result === undefined) return;
    expect(result).to.contain('odd%20names/100%25%20%231%20%26%20co.txt');
  });
}

/** What `promise` resolves to, or `undefined` when it rejects with ERR_STORAGE_UNSUPPORTED. */
async function unlessUnsupported<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (err) {
    expect((err as StorageError).code, 'code of the rejection').to.equal(
      STORAGE_ERROR_CODES.unsupported,
    );
    return undefined;
  }
}
