/**
 * Job ids are per queue: job "1" of queue a and job "1" of queue b running at once in one worker
 * are two jobs. (Keyed by id alone, the first to end erased the other, which then stayed in
 * `active` until BullMQ's stalled check.)
 */
import { describe, expect, it } from 'vitest';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { queue } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

describe('jobs with the same id in two queues', () => {
  it('run side by side in one worker and both complete', async () => {
    const pool = await startPool({ processor: fixture('sleep.mjs'), queues: 'a,b', concurrency: 2, 'min-workers': 1, 'max-workers': 1 });
    const a = queue('a', pool.prefix);
    const b = queue('b', pool.prefix);
    try {
      const [ja, jb] = [await a.add('sleep', { ms: 300 }), await b.add('sleep', { ms: 100 })];
      expect(ja.id).toBe(jb.id);
      // Both held at once by the one worker, and both recorded there.
      await until(() => pool.daemon.supervisor.workers()[0]!.busySlots === 2, 'both jobs running in the worker (its samples count them)', 10_000, 10);
      await until(async () => (await a.getJobCounts('completed'))['completed'] === 1 && (await b.getJobCounts('completed'))['completed'] === 1, 'both jobs to complete', 10_000);
      expect(await a.getJobCounts('active')).toEqual({ active: 0 });
      expect(await b.getJobCounts('active')).toEqual({ active: 0 });
    } finally {
      await a.close();
      await b.close();
    }
  });
});
