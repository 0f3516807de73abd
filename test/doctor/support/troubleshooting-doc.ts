// docs/troubleshooting.md's list of diagnoses, rendered from the doctor's table. The test in
// troubleshooting.test.ts fails when the page and the table disagree;
// `npm run docs:troubleshooting` writes the rendered list into the page.
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { DIAGNOSES, type DiagnosisLayer } from '../../../src/doctor/diagnoses.ts';

export const DOC = fileURLToPath(new URL('../../../docs/troubleshooting.md', import.meta.url));
export const START = '<!-- diagnoses: generated from src/doctor/diagnoses.ts, do not edit -->';
export const END = '<!-- diagnoses: end -->';

const LAYERS: Record<DiagnosisLayer, string> = {
  app: 'the app',
  proxy: 'the proxy configuration',
  storage: 'the storage',
};

/** The generated part of the page, markers included. */
export function renderDiagnoses(): string {
  const sections = DIAGNOSES.map((entry) =>
    [
      `### \`${entry.id}\``,
      '',
      `**${entry.title}.** Layer: ${LAYERS[entry.layer]}.`,
      '',
      `- Seen: ${entry.seen}`,
      `- Fix: ${entry.fix}`,
    ].join('\n'),
  );
  return [START, '', ...sections.flatMap((section) => [section, '']), END].join('\n');
}

/** The page with its generated part replaced by `generated`. */
export function withDiagnoses(page: string, generated: string): string {
  const start = page.indexOf(START);
  const end = page.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOC}: the diagnoses markers are missing`);
  return page.slice(0, start) + generated + page.slice(end + END.length);
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === '--write') {
  const page = await readFile(DOC, 'utf8');
  await writeFile(DOC, withDiagnoses(page, renderDiagnoses()));
}
