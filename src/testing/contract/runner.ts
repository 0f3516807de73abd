/**
 * The test runner the contract registers with. Mocha, node:test and other BDD runners share
 * `describe`, `it`, `beforeEach` and `afterEach`; they differ in how a test skips itself
 * (mocha's `this.skip()` throws, node:test's `t.skip()` only marks) and in timeouts (mocha's
 * default is 2 s, node:test has none). The wrapper below hides both.
 */

/** A test function as any runner calls it: `this` and arguments depend on the runner. */
export type RunnerFunction = (this: unknown, ...args: unknown[]) => Promise<void>;

/**
 * The runner functions the contract uses: `import { describe, it, beforeEach, afterEach } from
 * 'node:test'` (or from 'mocha') fit as they are.
 */
export interface ContractHooks {
  /** Groups the contract's tests under `name`; `fn` registers them synchronously. */
  describe(name: string, fn: () => void): unknown;
  /** Registers one contract test. */
  it(name: string, fn: RunnerFunction): unknown;
  /** Runs before each test: the contract builds a fresh storage there. */
  beforeEach(fn: RunnerFunction): unknown;
  /** Runs after each test: the contract cleans the storage up there. */
  afterEach(fn: RunnerFunction): unknown;
}

/** What a contract test may ask of its runner. */
export interface TestControl {
  /** Marks the test skipped (the driver lacks an optional capability) and ends it. */
  skip(reason: string): never;
}

/** A contract test body. */
export type TestBody = (test: TestControl) => Promise<void> | void;

const HOOK_NAMES = ['describe', 'it', 'beforeEach', 'afterEach'] as const;

/**
 * The runner's functions: `hooks` when given, else the globals a BDD runner installs (mocha,
 * or jest/vitest with globals), else node:test's, loaded only then.
 */
export function resolveHooks(hooks: ContractHooks | undefined): ContractHooks {
  if (hooks !== undefined) return checkHooks(hooks);
  const globals = globalThis as Partial<Record<(typeof HOOK_NAMES)[number], unknown>>;
  if (HOOK_NAMES.every((name) => typeof globals[name] === 'function')) {
    return globals as ContractHooks;
  }
  return process.getBuiltinModule('node:test') as unknown as ContractHooks;
}

function checkHooks(hooks: ContractHooks): ContractHooks {
  if (hooks === null || typeof hooks !== 'object') {
    throw new TypeError('describeStorageContract: option "hooks" must be an object');
  }
  for (const name of HOOK_NAMES) {
    if (typeof hooks[name] !== 'function') {
      const all = HOOK_NAMES.join(', ');
      throw new TypeError(
        `describeStorageContract: option "hooks" needs ${all}; "${name}" is not a function`,
      );
    }
  }
  return hooks;
}

/** Thrown by `skip()` where the runner's own skip does not end the test (node:test). */
class SkipSignal extends Error {}

interface MochaLike {
  skip?: () => never;
  timeout?: (ms?: number) => unknown;
}

/**
 * `body` as a function any runner calls. `bound` is how long the test's own bounded steps may
 * take: mocha's timeout is raised above it, so that a hanging driver fails with the contract's
 * message rather than with mocha's "Timeout of 2000ms exceeded".
 */
export function runnerTest(body: TestBody, bound: number): RunnerFunction {
  // A rest parameter keeps `length` at 0: mocha and node:test read a longer one as a callback test.
  return async function contractTest(this: unknown, ...args: unknown[]): Promise<void> {
    const mocha = (this ?? {}) as MochaLike;
    const nodeTest = args[0] as { skip?: (reason: string) => void } | undefined;
    raiseMochaTimeout(mocha, bound);
    const control: TestControl = {
      skip(reason: string): never {
        if (typeof mocha.skip === 'function') mocha.skip();
        if (typeof nodeTest?.skip === 'function') nodeTest.skip(reason);
        throw new SkipSignal(reason);
      },
    };
    try {
      await body(control);
    } catch (err) {
      if (!(err instanceof SkipSignal)) throw err;
    }
  };
}

function raiseMochaTimeout(mocha: MochaLike, bound: number): void {
  if (typeof mocha.timeout !== 'function') return;
  const current = mocha.timeout();
  // 0 means no timeout at all; a larger one set by the user stays.
  if (typeof current === 'number' && current !== 0 && current < bound + 2000) {
    mocha.timeout(bound + 2000);
  }
}
