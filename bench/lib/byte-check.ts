import { open } from 'node:fs/promises';

/** A byte range as HTTP writes it: from `start` to `end` inclusive, or the last `suffix` bytes. */
export type ByteRange = { start: number; end: number } | { suffix: number };

/**
 * Fetches one range of a file and fails, loudly, unless the answer is a 206 carrying exactly
 * those bytes as read from the file itself. A rate measured on wrong bytes would be worthless,
 * and offsets past 4 GiB are where 32-bit arithmetic would send the wrong ones.
 */
export async function checkRange(url: string, path: string, range: ByteRange): Promise<void> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const start = 'suffix' in range ? size - range.suffix : range.start;
    const end = 'suffix' in range ? size - 1 : range.end;
    const header = 'suffix' in range ? `bytes=-${range.suffix}` : `bytes=${start}-${end}`;
    const expected = Buffer.alloc(end - start + 1);
    await handle.read(expected, 0, expected.length, start);

    const response = await fetch(url, { headers: { Range: header } });
    const body = Buffer.from(await response.arrayBuffer());
    const contentRange = response.headers.get('content-range');
    const problem =
      response.status !== 206
        ? `status ${response.status}`
        : contentRange !== `bytes ${start}-${end}/${size}`
          ? `Content-Range ${contentRange}`
          : body.length !== expected.length
            ? `${body.length} bytes instead of ${expected.length}`
            : firstDifference(body, expected);
    if (problem) throw new Error(`${url} with Range: ${header} is wrong: ${problem}`);
  } finally {
    await handle.close();
  }
}

function firstDifference(actual: Buffer, expected: Buffer): string | undefined {
  if (actual.equals(expected)) return undefined;
  const at = actual.findIndex((byte, i) => byte !== expected[i]);
  return `byte ${at} of the range differs from the file`;
}
