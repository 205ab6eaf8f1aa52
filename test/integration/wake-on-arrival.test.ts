/**
 * Issue 16: a pool at zero workers wakes when a job arrives, not at its next scaling period: the
 * supervisor blocks on the queues' markers itself while it wants no worker. The scaling period here
 * is 60 s, so a job that runs within seconds was started by the arrival, not by a periodic tick.
 * The time from add to active is printed, not asserted tightly (a loaded host forks slowly).
 */
import { describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/scaling/control-loop.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { until } from '../helpers/wait.js';

const PERIOD_S = 60;
const startPool = poolPerTest();

describe('wake on arrival (--min-workers 0)', () => {
  it('a job added to an idle pool at zero starts long before the next scaling period', async () => {
    const decisions: DecisionRecord[] = [];
    const pool = await startPool(
      { queues: 'a,b', processor: fixture('sleep.mjs'), 'min-workers': 0, 'max-workers': 2, 'scaling-period': PERIOD_S, window: PERIOD_S, 'stop-timeout': 5 },
      { beforeStart: (p) => p.daemon.loop.onDecision((d) => decisions.push(d)) },
    );
    const { daemon } = pool;
    const b = pool.openQueue('b');
    expect(daemon.supervisor.workers()).toHaveLength(0);
    // The BZPOPMIN of the watch is under way once the supervisor's connection has sent it; a job added
    // before that is still seen (its marker stays until popped).
    const job = await b.add('sleep', { ms: 50 });
    const done = await until(async () => {
      const j = await b.getJob(job.id!);
      return j?.finishedOn ? j : undefined;
    }, 'the job to run', (PERIOD_S * 1000) / 3);
    const ms = done.processedOn! - done.timestamp;
    console.log(`add → active at zero workers: ${ms} ms (scaling period ${PERIOD_S} s)`);
    expect(ms).toBeLessThan((PERIOD_S * 1000) / 3);
    expect(decisions.find((d) => d.action === 'up')).toMatchObject({ workersBefore: 0, workersAfter: 1 });
  }, PERIOD_S * 1000);
});
