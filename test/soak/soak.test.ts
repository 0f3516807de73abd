import { expect } from 'chai';
import { requireBinary } from '../integration/support/require-binary.ts';
import { runSoak } from '../../scripts/soak/soak.ts';
import { formatSummary } from '../../scripts/soak/summary.ts';

// The CI version of `npm run soak` (scripts/soak/): 30 seconds of the same mixed traffic, at
// 200 clients rather than 300 so that two shared cores under coverage keep every answer well
// within its timeout. The full soak runs for minutes; see docs/performance.md, "Soak".
const SECONDS = 30;
const CLIENTS = 200;

describe('soak: mixed traffic, streamed over HTTP/1.1 and HTTP/2 and offloaded to nginx', function () {
  // Warm-up, 30 s of traffic, the downloads still running at the deadline, and the settle.
  this.timeout(240_000);

  before(function () {
    requireBinary(this, 'nginx');
  });

  it(`answers ${CLIENTS} clients for ${SECONDS} s with only expected statuses and the files' bytes, and gives back every descriptor`, async () => {
    const seed = Number(process.env.SOAK_SEED ?? Date.now() % 2 ** 31);
    const report = await runSoak({ seconds: SECONDS, clients: CLIENTS, seed, warmupSeconds: 3 });
    const summary = formatSummary(report);
    console.log(summary.replace(/^/gm, '      '));
    expect(report.problems, summary).to.deep.equal([]);
    // Every kind of the mix was exercised, not only sent.
    expect(Object.keys(report.tally.statuses)).to.have.length(8);
  });
});
