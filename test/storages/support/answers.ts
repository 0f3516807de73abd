import type { Storage } from '../../../src/storage.ts';

/**
 * What a storage answers for each name, call by call: `stat` (the size), `openFile` (the bytes),
 * `path` and `exists`, or the error code. Two storages that confine alike give equal tables.
 */
export async function answers(
  storage: Storage,
  names: readonly string[],
): Promise<Record<string, string[]>> {
  const table: Record<string, string[]> = {};
  for (const name of names) {
    table[name] = await Promise.all([
      outcome(storage.stat(name).then((stat) => `size ${stat.size}`)),
      outcome(storage.openFile!(name).then(async (file) => (await file.read()).toString())),
      outcome(storage.path!(name)),
      outcome(storage.exists!(name).then(String)),
    ]);
  }
  return table;
}

function outcome(answer: Promise<string>): Promise<string> {
  return answer.then(
    (value) => `ok: ${value}`,
    (err: unknown) => String((err as { code?: unknown }).code ?? err),
  );
}
