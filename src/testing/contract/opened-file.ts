import { expect } from 'chai';
import { Readable } from 'node:stream';
import { STORAGE_ERROR_CODES, StorageNotFoundError } from '../../errors.ts';
import type { ByteRange, OpenedFile, OpenFileOptions } from '../../storage.ts';
import { ContractTimeoutError, collect, expectBytes, within } from './bytes.ts';
import {
  CONTRACT_FIXTURES,
  EDGE_RANGES,
  HOSTILE_NAMES,
  RANDOM_NAME,
  capability,
  fixture,
  rejection,
  type Context,
} from './context.ts';
import type { TestBody, TestControl } from './runner.ts';

/** One test's files: opened through the driver, all closed when the test ends. */
interface Files {
  /** `storage.openFile(name)`, as the driver answers it. */
  attempt(name: string): Promise<OpenedFile>;
  /** `storage.openFile(name)`, closed after the test whatever happens. */
  open(name: string): Promise<OpenedFile>;
  /** Bytes of `file.read(range)`, bounded in time. */
  read(file: OpenedFile, name: string, range?: ByteRange): Promise<Buffer>;
  /** Bytes of `file.stream(range)`, bounded in time. */
  stream(file: OpenedFile, name: string, range?: ByteRange): Promise<Buffer>;
}

/**
 * `openFile()`, when the storage has it, both ways the streaming backend opens: for a plain GET
 * (`whole`, where a network driver may fetch the body with the metadata) and otherwise.
 */
export function describeOpenFile(ctx: Context): void {
  for (const options of [{ whole: false }, { whole: true }]) {
    ctx.hooks.describe(`openFile (when implemented), whole: ${options.whole}`, () => {
      describeMetadataAndBytes(ctx, options);
      describeLifecycle(ctx, options);
    });
  }
}

/** Registers a test that gets its `Files`, or is skipped when the driver has no openFile. */
function fileTest(
  ctx: Context,
  options: OpenFileOptions,
  name: string,
  body: (files: Files, t: TestControl) => Promise<void>,
): void {
  const run: TestBody = async (t) => {
    const openFile = capability(ctx.storage, 'openFile') ?? t.skip('the storage has no openFile()');
    const opened: OpenedFile[] = [];
    const call = (file: string): string =>
      `storage.openFile(${JSON.stringify(file)}, { whole: ${options.whole} })`;
    const files: Files = {
      attempt: (file) => within(openFile(file, options), ctx.timeout, call(file)),
      open: async (file) => {
        const made = await files.attempt(file);
        opened.push(made);
        return made;
      },
      read: (made, file, range) => within(made.read(range), ctx.timeout, `${call(file)}.read()`),
      stream: async (made, file, range) => {
        const what = `${call(file)}.stream()`;
        return collect(await within(made.stream(range), ctx.timeout, what), ctx.timeout, what);
      },
    };
    try {
      await body(files, t);
    } finally {
      for (const file of opened) file.close();
    }
  };
  ctx.test(name, run);
}

function describeMetadataAndBytes(ctx: Context, options: OpenFileOptions): void {
  fileTest(ctx, options, 'gives the same metadata as stat()', async (files) => {
    for (const name of Object.keys(CONTRACT_FIXTURES)) {
      const stat = await ctx.storage.stat(name);
      const file = await files.open(name);
      expect(file.stat.size, name).to.equal(stat.size);
      expect(file.stat.modified, name).to.be.instanceOf(Date);
      expect(file.stat.modified.getTime(), name).to.equal(stat.modified.getTime());
      expect(file.stat.etag, name).to.equal(stat.etag);
      expect(file.stat.contentType, name).to.equal(stat.contentType);
      file.close();
    }
  });

  for (const name of Object.keys(CONTRACT_FIXTURES)) {
    fileTest(
      ctx,
      options,
      `read() and stream() give ${JSON.stringify(name)} whole`,
      async (files) => {
        const read = await files.read(await files.open(name), name);
        expect(Buffer.isBuffer(read), 'read() resolves to a Buffer').to.equal(true);
        expectBytes(read, { file: fixture(name) }, `openFile(${JSON.stringify(name)}).read()`);
        const streamed = await files.stream(await files.open(name), name);
        expectBytes(
          streamed,
          { file: fixture(name) },
          `openFile(${JSON.stringify(name)}).stream()`,
        );
      },
    );
  }

  for (const [what, make] of EDGE_RANGES) {
    fileTest(
      ctx,
      options,
      `read(range) and stream(range) give ${what}, byte for byte`,
      async (files) => {
        const file = fixture(RANDOM_NAME);
        const range = make(file.length);
        const shown = `{ start: ${range.start}, end: ${range.end} }`;
        const read = await files.read(await files.open(RANDOM_NAME), RANDOM_NAME, range);
        expectBytes(
          read,
          { file, range },
          `openFile(${JSON.stringify(RANDOM_NAME)}).read(${shown})`,
        );
        const streamed = await files.stream(await files.open(RANDOM_NAME), RANDOM_NAME, range);
        expectBytes(
          streamed,
          { file, range },
          `openFile(${JSON.stringify(RANDOM_NAME)}).stream(${shown})`,
        );
      },
    );
  }

  fileTest(ctx, options, 'rejects a missing name with ERR_STORAGE_NOT_FOUND', async (files) => {
    const err = await rejection(files.attempt('absent.txt'));
    expect(err).to.be.instanceOf(StorageNotFoundError);
    expect(err.code).to.equal(STORAGE_ERROR_CODES.notFound);
  });

  fileTest(ctx, options, 'refuses hostile names with ERR_STORAGE_INVALID_NAME', async (files) => {
    for (const name of HOSTILE_NAMES) {
      const err = await rejection(files.attempt(name));
      expect(err.code, JSON.stringify(name)).to.equal(STORAGE_ERROR_CODES.invalidName);
    }
  });
}

function describeLifecycle(ctx: Context, options: OpenFileOptions): void {
  fileTest(
    ctx,
    options,
    'close() can be called again, and after read() or stream()',
    async (files) => {
      const unread = await files.open('hello.txt');
      unread.close();
      unread.close();

      const read = await files.open('hello.txt');
      await files.read(read, 'hello.txt');
      read.close();
      read.close();

      const streamed = await files.open(RANDOM_NAME);
      const bytes = await files.stream(streamed, RANDOM_NAME);
      expectBytes(
        bytes,
        { file: fixture(RANDOM_NAME) },
        `openFile(${JSON.stringify(RANDOM_NAME)}).stream()`,
      );
      streamed.close();
      streamed.close();
    },
  );

  // A driver that keeps a descriptor or a pooled connection per opened file would run out
  // here (S3's client pools 50 sockets): close() must give it back without reading.
  fileTest(
    ctx,
    options,
    'releases what an unread file holds on close(): 64 in a row, then a read',
    async (files) => {
      for (let i = 0; i < 64; i++) (await files.attempt(RANDOM_NAME)).close();
      const read = await files.read(await files.open(RANDOM_NAME), RANDOM_NAME);
      expectBytes(read, { file: fixture(RANDOM_NAME) }, 'read() after 64 unread files were closed');
    },
  );

  fileTest(ctx, options, 'is consumed once: reading it again fails', async (files) => {
    const read = await files.open('hello.txt');
    await files.read(read, 'hello.txt');
    expect(await fails(ctx, () => read.read()), 'read() after read()').to.equal(true);
    expect(await fails(ctx, () => read.stream()), 'stream() after read()').to.equal(true);

    const streamed = await files.open('hello.txt');
    await files.stream(streamed, 'hello.txt');
    expect(await fails(ctx, () => streamed.read()), 'read() after stream()').to.equal(true);
    expect(await fails(ctx, () => streamed.stream()), 'stream() after stream()').to.equal(true);

    const closed = await files.open('hello.txt');
    closed.close();
    const late = await fails(ctx, () => closed.read({ start: 0, end: 0 }));
    expect(late, 'read() after close()').to.equal(true);
  });
}

/**
 * Whether `call` fails: throws, rejects, or hands out a stream that errors instead of ending.
 * A call that hangs is not a failure but a bug of its own: its timeout is rethrown.
 */
async function fails(ctx: Context, call: () => unknown): Promise<boolean> {
  let result: unknown;
  try {
    result = await within(Promise.resolve().then(call), ctx.timeout, 'a second read');
  } catch (err) {
    if (err instanceof ContractTimeoutError) throw err;
    return true;
  }
  if (!(result instanceof Readable)) return false;
  try {
    await collect(result, ctx.timeout, 'a second stream');
    return false;
  } catch (err) {
    if (err instanceof ContractTimeoutError) throw err;
    return true;
  }
}
