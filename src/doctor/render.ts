import type { DiagnosisLayer } from './diagnoses.ts';
import type { DoctorReport } from './run.ts';

const LAYER_NAMES: Record<DiagnosisLayer, string> = {
  app: 'app',
  proxy: 'proxy configuration',
  storage: 'storage',
};

const MARKS = { pass: 'ok', fail: 'FAIL', 'n/a': 'n/a', 'not run': 'not run' } as const;

/**
 * The report as the command prints it: one row per check with its time, then each diagnosis
 * with the layer to fix and the fix.
 *
 * @example
 * process.stdout.write(formatReport(await runDoctor({ app })));
 */
export function formatReport(report: DoctorReport): string {
  const rows = report.checks.map((check, index) => [
    String(index + 1),
    MARKS[check.verdict],
    `${check.ms.toFixed(1)} ms`,
    check.title,
    check.detail + (check.diagnosis ? ` [${check.diagnosis}]` : ''),
  ]);
  const total = report.checks.reduce((sum, check) => sum + check.ms, 0);
  const lines = [
    `app:    ${report.app}`,
    `public: ${report.public}${report.public === report.app ? ' (no proxy)' : ''}`,
    `proxy:  ${report.proxy ?? 'not recognised'}; the app delivers by ${report.delivery ?? '?'}`,
    '',
    ...table([['#', 'result', 'time', 'check', 'seen'], ...rows]),
    `   total ${total.toFixed(1)} ms`,
    '',
  ];
  for (const found of report.diagnoses) {
    lines.push(
      `${found.id}  (layer: ${LAYER_NAMES[found.layer]})`,
      `  ${found.title}. ${found.seen}`,
    );
    lines.push(`  fix: ${found.fix}`, '');
  }
  lines.push(report.ok ? 'All checks hold.' : `${report.diagnoses.length} problem(s) found.`);
  return lines.join('\n') + '\n';
}

function table(rows: string[][]): string[] {
  const widths =
    rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? [];
  // The last column is free text: not padded.
  return rows.map((row) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  '),
  );
}
