import { AssertionError } from 'chai';
import type { Readable } from 'node:stream';
import type { ByteRange } from '../../storage.ts';

/** A bounded step of the contract that took too long: a hanging driver, not a wrong answer. */
export class ContractTimeoutError extends AssertionError<unknown> {}

/** `promise`, or a `ContractTimeoutError` naming `what` once `ms` have passed. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ContractTimeoutError(`${what} did not settle within ${ms} ms`)),
      ms,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Every byte of `stream`, or a `ContractTimeoutError` saying how far it got when it neither
 * ended nor failed within `ms` (the stream is destroyed then, so the driver's resources go).
 */
export function collect(stream: Readable, ms: number, what: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks));
    };
    const timer = setTimeout(() => {
      finish(
        new ContractTimeoutError(
          `${what}: the stream neither ended nor failed within ${ms} ms (${size} bytes read): does it push its end?`,
        ),
      );
      stream.destroy();
    }, ms);
    stream.on('data', (chunk: Buffer | string) => {
      const bytes = Buffer.from(chunk);
      chunks.push(bytes);
      size += bytes.length;
    });
    stream.once('end', () => finish());
    stream.once('error', finish);
    stream.once('close', () => {
      if (!stream.readableEnded && !stream.errored) {
        finish(new AssertionError(`${what}: the stream closed after ${size} bytes without ending`));
      }
    });
  });
}

/** Where `expected` came from: a whole file, or one range of it. */
export interface BytesSource {
  /** The whole file. */
  readonly file: Uint8Array;
  /** The range asked, when not the whole file. */
  readonly range?: ByteRange;
}

/**
 * Fails unless `actual` is the bytes `source` asks for, with a message that shows the range
 * asked, both sizes, the first difference (as text or hex), and the part of the file the bytes
 * actually are when it is a near shift: an off-by-one range shows as one.
 */
export function expectBytes(actual: Uint8Array, source: BytesSource, what: string): void {
  const { file, range } = source;
  const start = range?.start ?? 0;
  const expected = range ? file.subarray(range.start, range.end + 1) : file;
  if (Buffer.from(actual).equals(expected)) return;
  const at = firstDifference(actual, expected);
  const asked = range ? `bytes ${range.start}-${range.end}` : `bytes 0-${file.length - 1}`;
  const lines = [
    `${what} gave the wrong bytes:`,
    `  asked     ${range ? asked : 'the whole file'} (${count(expected.length)} of ${file.length})`,
    `  expected  ${count(expected.length)}: ${excerpt(expected, at, textual(file))}`,
    `  actual    ${count(actual.length)}: ${excerpt(actual, at, textual(file))}`,
    `  first difference at offset ${at} (byte ${start + at} of the file)`,
  ];
  const shift = nearShift(actual, file, asked, start);
  if (shift !== undefined) lines.push(`  actual is ${shift}`);
  throw new AssertionError(lines.join('\n'), { showDiff: false });
}

function count(n: number): string {
  return n === 1 ? '1 byte' : `${n} bytes`;
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return length;
}

/** Whether a file reads as text (UTF-8, no control characters but line ends and tabs). */
function textual(file: Uint8Array): boolean {
  const text = Buffer.from(file.subarray(0, 4096)).toString('utf8');
  // eslint-disable-next-line no-control-regex -- control characters mark binary content
  return !/[\u0000-\u0008\u000b-\u001f\u007f\ufffd]/.test(text.slice(0, -3));
}

/** Up to 16 bytes around offset `at`: as JSON text for a text file, in hex otherwise. */
function excerpt(bytes: Uint8Array, at: number, text: boolean): string {
  const from = Math.max(0, at - 8);
  const to = Math.min(bytes.length, from + 16);
  if (to <= from) return '(none)';
  const slice = Buffer.from(bytes.subarray(from, to));
  const shown = text
    ? JSON.stringify(slice.toString('utf8'))
    : slice.toString('hex').replace(/(..)(?!$)/g, '$1 ');
  return `${from > 0 ? '…' : ''}${shown}${to < bytes.length ? '…' : ''}`;
}

/** "bytes a-b of the file, where c-d was asked" when `actual` is a nearby slice of the file. */
function nearShift(
  actual: Uint8Array,
  file: Uint8Array,
  asked: string,
  start: number,
): string | undefined {
  if (actual.length === 0) return undefined;
  for (const delta of [0, -1, 1, -2, 2]) {
    const from = start + delta;
    if (from < 0 || from + actual.length > file.length) continue;
    if (!Buffer.from(actual).equals(file.subarray(from, from + actual.length))) continue;
    return `bytes ${from}-${from + actual.length - 1} of the file, where ${asked} were asked: an off-by-one in the range?`;
  }
  return undefined;
}
