import { expect } from 'chai';
import { randomBytes } from 'node:crypto';
import { StorageError } from '../../errors.ts';
import type { ByteRange, Storage } from '../../storage.ts';
import type { ContractHooks, TestBody } from './runner.ts';

export const UNICODE_NAME = 'répertoire/naïve 文件.txt';
export const AWKWARD_NAME = 'odd names/100% #1 & co.txt';
export const RANDOM_NAME = 'data/random.bin';

/** The files every storage under test holds. */
export const CONTRACT_FIXTURES: Readonly<Record<string, Uint8Array>> = Object.freeze({
  'hello.txt': Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz\n'),
  [RANDOM_NAME]: randomBytes(100 * 1024),
  'empty.txt': Buffer.alloc(0),
  [UNICODE_NAME]: Buffer.from('unicode ✓\n'),
  [AWKWARD_NAME]: Buffer.from('awkward\n'),
});

/** Ranges at the edges of a file, made from its size: where off-by-one reads show. */
export const EDGE_RANGES: [string, (size: number) => ByteRange][] = [
  ['the first byte', () => ({ start: 0, end: 0 })],
  ['the last byte', (size) => ({ start: size - 1, end: size - 1 })],
  ['a middle range', (size) => ({ start: 10, end: size - 10 })],
  ['the whole file as a range', (size) => ({ start: 0, end: size - 1 })],
];

export const HOSTILE_NAMES = ['../x', '/etc/passwd', 'a\\..\\b', 'a\0b', 'a/../../b', ''];

/** What every block of the contract shares: the storage of the running test, and the runner. */
export interface Context {
  /** The storage built for the running test. */
  readonly storage: Storage;
  /** How long one bounded step (a read, the HTTP round trip) may take, in ms. */
  readonly timeout: number;
  readonly hooks: ContractHooks;
  /** Registers a test with the runner (skips and timeouts handled). */
  test(name: string, body: TestBody): void;
}

/** The bytes of fixture `name`. */
export function fixture(name: string): Buffer {
  return Buffer.from(CONTRACT_FIXTURES[name] ?? []);
}

/** How a call is named in failure messages: `storage.open("a.txt", { start: 0, end: 0 })`. */
export function callName(method: string, name: string, range?: ByteRange): string {
  const args = [JSON.stringify(name)];
  if (range) args.push(`{ start: ${range.start}, end: ${range.end} }`);
  return `storage.${method}(${args.join(', ')})`;
}

/** The rejection of `promise`, which must be a `StorageError`; fails if it resolves. */
export async function rejection(promise: Promise<unknown>): Promise<StorageError> {
  try {
    await promise;
  } catch (err) {
    expect(err, 'rejection').to.be.instanceOf(StorageError);
    return err as StorageError;
  }
  throw new Error('expected a rejection, but the call succeeded');
}

/** The optional methods of a storage: a driver that lacks one simply has no such method. */
export type OptionalMethod = 'exists' | 'save' | 'delete' | 'path' | 'url' | 'openFile';

/**
 * `storage[key]` bound to the storage, or `undefined` when the driver does not have it: the
 * contract picks its optional blocks from this, never from a flag the caller passes.
 */
export function capability<K extends OptionalMethod>(
  storage: Storage,
  key: K,
): NonNullable<Storage[K]> | undefined {
  const method: unknown = storage[key];
  if (typeof method !== 'function') return undefined;
  return method.bind(storage) as NonNullable<Storage[K]>;
}
