/**
 * Sends generated requests to a target and checks each answer against the model.
 */
import { disagreements } from './check.ts';
import type { keepAliveClient, WireResponse } from './client.ts';
import type { GeneratedRequest } from './arbitraries.ts';
import { LIBRARY_POLICY } from './deviations.ts';
import { expectResponse, type ModelFile } from './model.ts';
import { KNOWN_DEFECTS } from './regressions.ts';
import type { ServedFile, Target } from './targets.ts';

/** One request on one file (by size) of a target: small enough for fast-check to print. */
export interface Case {
  readonly size: number;
  readonly request: GeneratedRequest;
}

/** Counters shared by every run, for the report. */
export const stats = {
  cases: 0,
  milliseconds: 0,
  /** Answers by status (206 multipart as `206m`), to show what the generators reach. */
  statuses: new Map<string, number>(),
  /** Answers that matched a known defect rather than the RFC, by defect id. */
  defects: new Map<string, number>(),
};

/** PROPERTY_STRICT=1: known defects count as disagreements, as they do in the regressions. */
const TOLERATE_DEFECTS = process.env.PROPERTY_STRICT !== '1';

/** The model's view of a served file, with the ETag the library showed for it at set-up. */
export function modelFile(file: ServedFile, etag: string): ModelFile {
  return {
    size: file.bytes.length,
    etag,
    lastModified: file.lastModified,
    rangeable: file.rangeable,
  };
}

/**
 * Runs a batch of cases concurrently over the client's kept-alive connections. Resolves with a
 * description of every disagreement (empty when the library and the model agree).
 */
export async function runBatch(
  client: ReturnType<typeof keepAliveClient>,
  base: string,
  target: Target,
  etags: ReadonlyMap<string, string>,
  cases: readonly Case[],
  options: { tolerateDefects?: boolean } = {},
): Promise<string[]> {
  const started = performance.now();
  const results = await Promise.all(
    cases.map(async ({ size, request }) => {
      const file = target.files.find((f) => f.bytes.length === size)!;
      const model = modelFile(file, etags.get(`${target.label}/${file.name}`)!);
      const expected = expectResponse(model, request, LIBRARY_POLICY);
      const response = await client.send(
        `${base}${target.path}${file.name}`,
        request.method,
        request.headers,
      );
      const found = disagreements(expected, response, file.bytes, request.method);
      const status = expected.body.kind === 'multipart' ? '206m' : String(expected.status);
      stats.statuses.set(status, (stats.statuses.get(status) ?? 0) + 1);
      if (found.length === 0) return [];
      if (
        (options.tolerateDefects ?? TOLERATE_DEFECTS) &&
        knownDefect(model, file, request, response)
      )
        return [];
      return [
        `${target.label} ${request.method} ${file.name} ${JSON.stringify(request.headers)}\n` +
          `    model: ${expected.status} (${expected.trace.join('; ')})\n` +
          found.map((line) => `    - ${line}`).join('\n'),
      ];
    }),
  );
  stats.cases += cases.length;
  stats.milliseconds += performance.now() - started;
  return results.flat();
}

/** Whether the answer is the one a known defect gives (alone, or all of them together). */
function knownDefect(
  model: ModelFile,
  file: ServedFile,
  request: GeneratedRequest,
  response: WireResponse,
) {
  const variants = [
    ...KNOWN_DEFECTS.map((defect) => ({ id: defect.id, knob: defect.knob })),
    {
      id: KNOWN_DEFECTS.map((d) => d.id).join('+'),
      knob: Object.assign({}, ...KNOWN_DEFECTS.map((d) => d.knob)),
    },
  ];
  for (const { id, knob } of variants) {
    const expected = expectResponse(model, request, { ...LIBRARY_POLICY, ...knob });
    if (disagreements(expected, response, file.bytes, request.method).length === 0) {
      stats.defects.set(id, (stats.defects.get(id) ?? 0) + 1);
      return true;
    }
  }
  return false;
}
