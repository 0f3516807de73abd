import { AssertionError } from 'chai';
import { inspect } from 'node:util';

/** One field that differs between what a test expected and what the response holds. */
export interface Mismatch {
  readonly field: string;
  readonly expected: unknown;
  readonly actual: unknown;
}

/** Collects every mismatch first, so one failure shows all of them side by side. */
export class MismatchList {
  readonly #items: Mismatch[] = [];

  /** Records `field` when `expected` is given and differs from `actual`. */
  check(field: string, expected: unknown, actual: unknown): void {
    if (expected === undefined) return;
    if (!sameValue(expected, actual)) this.#items.push({ field, expected, actual });
  }

  /** Records a mismatch found by a custom comparison. */
  add(field: string, expected: unknown, actual: unknown): void {
    this.#items.push({ field, expected, actual });
  }

  /** Throws one AssertionError listing every mismatch, if any. */
  throwIfAny(what: string): void {
    if (this.#items.length === 0) return;
    const width = Math.max(...this.#items.map((m) => m.field.length));
    const lines = this.#items.map(
      (m) => `  ${m.field.padEnd(width)}  expected ${show(m.expected)}, actual ${show(m.actual)}`,
    );
    const [first] = this.#items;
    throw new AssertionError(`${what} does not match:\n${lines.join('\n')}`, {
      expected: first?.expected,
      actual: first?.actual,
      showDiff: this.#items.length === 1,
    });
  }
}

function sameValue(expected: unknown, actual: unknown): boolean {
  if (Buffer.isBuffer(expected) && Buffer.isBuffer(actual)) return expected.equals(actual);
  return Object.is(expected, actual);
}

function show(value: unknown): string {
  if (Buffer.isBuffer(value)) {
    return value.length > 64 ? `<${value.length} bytes>` : inspect(value.toString('utf8'));
  }
  return inspect(value);
}
