import type { Readable } from 'node:stream';

/**
 * Bodies that write themselves into the response (a storage's stream piped straight to an
 * HTTP/1 response, see storages/filesystem-body.ts) emit no `data` event once they do: a
 * listener for `data` would switch them to flowing mode and read the file twice. They tell
 * their progress with this event instead, for the stall guard.
 */
export const BYTES_WRITTEN = Symbol('koa-downloadview bytes written');

const exactLengths = new WeakMap<Readable, number>();
const direct = new WeakSet<Readable>();

/**
 * Marks `body` as giving exactly `length` bytes or failing with a `StorageChangedError`, so the
 * streaming backend does not wrap it in a length guard (a guard in between would stop it from
 * writing itself into the response). Only the library's own storages mark their bodies:
 * nothing a custom storage returns is trusted with this.
 */
export function markExactLength(body: Readable, length: number): void {
  exactLengths.set(body, length);
}

/** Whether `body` was marked as giving exactly `length` bytes. */
export function hasExactLength(body: Readable, length: number): boolean {
  return exactLengths.get(body) === length;
}

/** Marks `body` as writing itself into the response from now on. */
export function markWritingDirectly(body: Readable): void {
  direct.add(body);
}

/** Whether `body` writes itself into the response (and reports BYTES_WRITTEN, not `data`). */
export function writesDirectly(body: Readable): boolean {
  return direct.has(body);
}
