/**
 * `npm run soak`: minutes of mixed traffic against the app in its own process, streamed
 * (HTTP/1.1, HTTP/1.1 over TLS, HTTP/2 over TLS) and offloaded to nginx. Exits 1 when an
 * expectation breaks. Options (or SOAK_SECONDS, SOAK_CLIENTS, SOAK_SEED):
 *
 *   npm run soak -- --seconds 180 --clients 300 --seed 42
 */
import { parseArgs } from 'node:util';
import { runSoak } from './soak.ts';
import { formatSummary } from './summary.ts';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: process.env.SOAK_SECONDS ?? '180' },
    clients: { type: 'string', default: process.env.SOAK_CLIENTS ?? '300' },
    seed: { type: 'string', default: process.env.SOAK_SEED ?? String(Date.now() % 2 ** 31) },
  },
});
const seconds = Number(values.seconds);
const clients = Number(values.clients);
const seed = Number(values.seed);
if (!(seconds > 0) || !Number.isInteger(clients) || clients < 4 || !Number.isInteger(seed)) {
  console.error('usage: npm run soak -- [--seconds N>0] [--clients N>=4] [--seed INTEGER]');
  process.exit(2);
}
const report = await runSoak({ seconds, clients, seed });
console.log(formatSummary(report));
process.exitCode = report.problems.length === 0 ? 0 : 1;
