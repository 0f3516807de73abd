import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { startDeadline } from '../../src/backends/stall-clock.ts';

describe('stall clock: one interval per timeout length keeps the deadline of every wait', () => {
  it('expires a wait between ms and 1.1 × ms after it began (plus timer lateness)', async () => {
    const began = performance.now();
    const expired = await new Promise<number>((resolve) => {
      startDeadline(200, () => resolve(performance.now() - began));
    });
    expect(expired).to.be.within(200, 200 * 1.1 + 50);
  });

  it('never expires a wait cancelled in time, and expires the others of the same length', async () => {
    const fired: string[] = [];
    const cancelFirst = startDeadline(120, () => fired.push('first'));
    startDeadline(120, () => fired.push('second'));
    cancelFirst();
    await sleep(250);
    expect(fired).to.deep.equal(['second']);
  });
});
