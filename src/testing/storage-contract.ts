import { expect } from 'chai';
import { checkOptionKeys, type OptionKeys } from '../options.ts';
import type { Storage } from '../storage.ts';
import { within } from './contract/bytes.ts';
import { CONTRACT_FIXTURES, type Context } from './contract/context.ts';
import { describeHttp } from './contract/http.ts';
import { describeMetadata } from './contract/metadata.ts';
import { describeOpenFile } from './contract/opened-file.ts';
import { describeRanges } from './contract/ranges.ts';
import { describeReads } from './contract/read.ts';
import { resolveHooks, runnerTest, type ContractHooks, type TestBody } from './contract/runner.ts';
import { describeWrites } from './contract/write.ts';

export { CONTRACT_FIXTURES, rejection } from './contract/context.ts';
export type { ContractHooks, RunnerFunction } from './contract/runner.ts';

/** What a contract factory may return: a storage, or one with its clean-up. */
export type ContractStorage =
  | Storage
  | {
      /** The storage under test. */
      storage: Storage;
      /** Removes what the storage left behind; called after each test. */
      cleanup?: () => Promise<void> | void;
    };

/** Builds a fresh storage holding exactly `fixtures` (name → bytes). */
export type ContractFactory = (
  fixtures: Record<string, Uint8Array>,
) => ContractStorage | Promise<ContractStorage>;

/** Options of `describeStorageContract`. */
export interface StorageContractOptions {
  /**
   * The runner's `describe`, `it`, `beforeEach` and `afterEach`. By default, the globals mocha
   * installs when they exist, else node:test's.
   */
  hooks?: ContractHooks;
  /**
   * How long, in ms, one step may take before it fails with a message naming it: building the
   * storage, one read, the HTTP round trip. Default 5000; mocha's own timeout is raised above it.
   */
  timeout?: number;
}

const OPTION_KEYS: OptionKeys<StorageContractOptions> = { hooks: true, timeout: true };
const DEFAULT_TIMEOUT = 5000;

/**
 * The suite every storage driver passes: the built-in ones and yours, under mocha or node:test.
 * `factory` receives the fixture files the storage must hold and runs once per test. Optional
 * methods (`exists`, `save`, `delete`, `path`, `url`, `openFile`) are tested when the storage
 * has them and their tests are skipped otherwise; `path` and `url` may also reject with
 * `ERR_STORAGE_UNSUPPORTED`, and a `save` that does marks the storage read-only. Errors are
 * checked by class and `code`, never by message. A wrong read fails with the range asked and
 * the bytes expected and received; a step that hangs fails after `timeout` ms, naming the step.
 *
 * @example
 * describeStorageContract('MyStorage', (fixtures) => new MyStorage({ files: fixtures }));
 * // under node:test without globals, or to say which runner:
 * import { describe, it, beforeEach, afterEach } from 'node:test';
 * describeStorageContract('MyStorage', factory, { hooks: { describe, it, beforeEach, afterEach } });
 */
export function describeStorageContract(
  label: string,
  factory: ContractFactory,
  options: StorageContractOptions = {},
): void {
  checkArguments(label, factory, options);
  const hooks = resolveHooks(options.hooks);
  const timeout = options.timeout ?? DEFAULT_TIMEOUT;
  hooks.describe(`storage contract: ${label}`, () => {
    const ctx = {
      storage: undefined as unknown as Storage,
      cleanup: async (): Promise<void> => {},
      timeout,
      hooks,
      test: (name: string, body: TestBody) => {
        hooks.it(name, runnerTest(body, timeout));
      },
    };
    hooks.beforeEach(runnerTest(() => build(ctx, factory), timeout));
    hooks.afterEach(runnerTest(() => ctx.cleanup(), timeout));
    describeBlocks(ctx);
  });
}

function describeBlocks(ctx: Context): void {
  describeReads(ctx);
  describeRanges(ctx);
  describeMetadata(ctx);
  describeOpenFile(ctx);
  describeWrites(ctx);
  describeHttp(ctx);
}

function checkArguments(label: unknown, factory: unknown, options: StorageContractOptions): void {
  if (typeof label !== 'string' || label === '') {
    throw new TypeError('describeStorageContract: label must be a non-empty string');
  }
  if (typeof factory !== 'function') {
    throw new TypeError('describeStorageContract: factory must be a function');
  }
  checkOptionKeys('describeStorageContract', options, OPTION_KEYS);
  const { timeout } = options;
  if (timeout !== undefined && !(Number.isInteger(timeout) && timeout > 0)) {
    throw new TypeError(
      'describeStorageContract: option "timeout" must be a positive integer (ms)',
    );
  }
}

interface Built {
  storage: Storage;
  cleanup: () => Promise<void>;
}

/** A fresh storage from `factory`, set on `ctx` with its clean-up. */
async function build(ctx: Built & { timeout: number }, factory: ContractFactory): Promise<void> {
  ctx.cleanup = async () => {};
  const made = await within(
    Promise.resolve(factory({ ...CONTRACT_FIXTURES })),
    ctx.timeout,
    'the contract factory',
  );
  const storage =
    made !== null && typeof made === 'object' && 'storage' in made ? made.storage : made;
  expect(storage, 'the storage the factory made').to.have.property('stat').that.is.a('function');
  expect(storage, 'the storage the factory made').to.have.property('open').that.is.a('function');
  ctx.storage = storage;
  if ('storage' in made && made.cleanup) {
    const { cleanup } = made;
    ctx.cleanup = async () => {
      await cleanup();
    };
  }
}
