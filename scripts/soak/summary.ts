import { mib, type SoakReport } from './soak.ts';

/** The run in a few lines: what was asked, what came back, what the app's process held. */
export function formatSummary(report: SoakReport): string {
  const { tally, rss, descriptors } = report;
  const lines = [
    `soak: ${report.options.seconds} s, ${report.options.clients} clients ${JSON.stringify(report.clients)}, seed ${report.options.seed}`,
    `requests: ${tally.requests} in ${report.elapsedSeconds.toFixed(1)} s = ${report.requestsPerSecond.toFixed(0)} req/s (warm-up: ${report.warmup.requests})`,
    `by transport: ${JSON.stringify(tally.byTransport)}`,
    `sent again after the server closed a kept-alive connection: ${JSON.stringify(tally.retried)}`,
    'by kind and status:',
    ...Object.entries(tally.statuses)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, statuses]) => `  ${kind.padEnd(20)} ${JSON.stringify(statuses)}`),
    `slowest: ${JSON.stringify(tally.slowest)}`,
    `bytes verified against the files: ${mib(tally.bytesVerified)}`,
    `app RSS: ${mib(rss.baseline)} after warm-up, peak ${mib(rss.peak)}, growth ${mib(rss.growth)} (bound ${mib(rss.limit)})`,
    `app descriptors: ${descriptors.baseline} after warm-up, ${descriptors.after} after the run`,
    `errors the app reported: ${JSON.stringify(report.appErrors)}`,
    report.problems.length === 0 ? 'PASS' : `FAIL:\n  ${report.problems.join('\n  ')}`,
  ];
  return lines.join('\n');
}
