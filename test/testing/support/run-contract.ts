import {
  describeStorageContract,
  type ContractFactory,
  type RunnerFunction,
  type StorageContractOptions,
} from '../../../src/testing/storage-contract.ts';

/** How one contract test ended. */
export interface ContractResult {
  /** The test's name, after the names of the blocks holding it, joined by ' > '. */
  readonly name: string;
  readonly state: 'passed' | 'failed' | 'skipped';
  readonly error?: Error;
}

interface Scope {
  readonly names: string[];
  readonly beforeEach: RunnerFunction[];
  readonly afterEach: RunnerFunction[];
}

interface Registered {
  readonly name: string;
  readonly scopes: Scope[];
  readonly fn: RunnerFunction;
}

/**
 * Runs the contract for `factory` in this process, through `hooks` that record what it
 * registers: failing drivers can be checked here without failing the suite that checks them.
 * Tests run as node:test calls them (`t.skip()`, no `this`).
 */
export async function runContract(
  factory: ContractFactory,
  options: Omit<StorageContractOptions, 'hooks'> = {},
): Promise<ContractResult[]> {
  const tests: Registered[] = [];
  const stack: Scope[] = [{ names: [], beforeEach: [], afterEach: [] }];
  const top = (): Scope => stack[stack.length - 1]!;
  const hooks = {
    describe(name: string, fn: () => void) {
      stack.push({ names: [...top().names, name], beforeEach: [], afterEach: [] });
      fn();
      stack.pop();
    },
    it(name: string, fn: RunnerFunction) {
      tests.push({ name: [...top().names, name].join(' > '), scopes: [...stack], fn });
    },
    beforeEach: (fn: RunnerFunction) => void top().beforeEach.push(fn),
    afterEach: (fn: RunnerFunction) => void top().afterEach.push(fn),
  };
  describeStorageContract('under test', factory, { ...options, hooks });
  const results: ContractResult[] = [];
  for (const test of tests) results.push(await run(test));
  return results;
}

async function run(test: Registered): Promise<ContractResult> {
  let skipped = false;
  const t = { skip: () => void (skipped = true) };
  let error: Error | undefined;
  try {
    for (const scope of test.scopes)
      for (const hook of scope.beforeEach) await hook.call(undefined, t);
    await test.fn.call(undefined, t);
  } catch (err) {
    error = err as Error;
  }
  for (const scope of [...test.scopes].reverse()) {
    for (const hook of scope.afterEach) await hook.call(undefined, t);
  }
  const state = error ? 'failed' : skipped ? 'skipped' : 'passed';
  return { name: test.name, state, error };
}

/** The names of the results in `state`. */
export function named(results: ContractResult[], state: ContractResult['state']): string[] {
  return results.filter((r) => r.state === state).map((r) => r.name);
}

/** The error of the test whose name ends with `suffix`. */
export function failureOf(results: ContractResult[], suffix: string): Error {
  const result = results.find((r) => r.name.endsWith(suffix));
  if (!result) throw new Error(`no contract test named "… ${suffix}"`);
  if (result.state !== 'failed' || !result.error) throw new Error(`"${suffix}" did not fail`);
  return result.error;
}
