/**
 * min-workers 0 on the real daemon: no worker while nothing waits, a worker started by the first
 * decision after a job is enqueued (the backlog is read from Redis before each tick), the job run,
 * and the pool back at zero once it is idle again.
 */
import { describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/scaling/control-loop.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

describe('scale to zero (--min-workers 0)', () => {
  for (const policy of ['threshold', 'adaptive'] as const) {
    it(`${policy}: wakes at the first tick after a job arrives and returns to zero`, async () => {
      const decisions: DecisionRecord[] = [];
      const pool = await startPool(
        {
          processor: fixture('sleep.mjs'), 'min-workers': 0, 'max-workers': 2, 'scaling-period': 0.5, window: 1,
          'sample-interval': 0.1, policy, 'stabilization-window': 0, 'stop-timeout': 5,
        },
        { beforeStart: (p) => p.daemon.loop.onDecision((d) => decisions.push(d)) },
      );
      const { daemon, queue: q } = pool;
      // Idle at zero: a few ticks pass with no worker.
      await until(() => decisions.length >= 3, 'three idle ticks', 10_000);
      expect(daemon.supervisor.workers()).toHaveLength(0);
      expect(decisions.every((d) => d.workersAfter === 0)).toBe(true);
      expect(await daemon.ready()).toBe(true);

      const addedAt = Date.now();
      const job = await q.add('sleep', { ms: 200 }, { removeOnComplete: false });
      await until(() => decisions.filter((d) => d.at > addedAt).length >= 2, 'two decisions after the job arrived', 10_000);
      // The first tick after the add wakes a worker; the second is allowed only for an add that
      // landed between that tick's Redis read and its decision (a window of a millisecond or so).
      const after = decisions.filter((d) => d.at > addedAt).slice(0, 2);
      const up = after.find((d) => d.action === 'up');
      expect(up, JSON.stringify(after)).toMatchObject({ workersBefore: 0, workersAfter: 1 });
      await until(async () => (await q.getJob(job.id!))?.finishedOn, 'the job to finish', 15_000);
      await until(() => daemon.supervisor.workers().length === 0 && daemon.supervisor.desired === 0, 'the pool back at zero', 15_000);
      expect(decisions.some((d) => d.action === 'down' && d.workersAfter === 0)).toBe(true);
    });
  }
});
