/**
 * A real pool on a real Redis with a compressed clock: scaling period 0.5 s, window 3 s.
 * 8 jobs/s of 250 ms keep 2 slots busy; with threshold 0.5 the pool should settle at 4 or 5
 * workers (4 → utilization 0.5, not above the threshold; 5 → 0.4), then return to min.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/supervisor/control-loop.js';
import { queue } from '../helpers/redis.js';
import { fixture, startPool, type TestPool } from '../helpers/pool.js';
import { until } from '../helpers/wait.js';

let pool: TestPool | undefined;
afterEach(async () => {
  await pool?.stop();
  pool = undefined;
});

describe('scaling on a real Redis', () => {
  it('grows to 4–5 workers under 2 busy slots of load, then returns to min, losing nothing', async () => {
    pool = await startPool({
      processor: fixture('sleep.mjs'),
      'min-workers': 1,
      'max-workers': 6,
      'scaling-period': 0.5,
      window: 3,
      'sample-interval': 0.1,
      'utilization-threshold': 0.5,
      concurrency: 1,
    });
    const { daemon } = pool;
    const decisions: DecisionRecord[] = [];
    const sizes: number[] = [];
    daemon.loop.onDecision((d) => {
      decisions.push(d);
      const active = daemon.supervisor.activeCount();
      sizes.push(active);
    });
    const q = queue('default', pool.prefix);
    const loadMs = 14_000;
    const t0 = Date.now();
    let added = 0;
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        if (Date.now() - t0 >= loadMs) {
          clearInterval(timer);
          resolve();
          return;
        }
        added++;
        void q.add('sleep', { ms: 250 });
      }, 125);
    });
    const duringLoad = decisions.map((d) => d.workersAfter);
    const settled = duringLoad.slice(-8); // the last 4 s of load
    // Invariants at every tick: within [min, max], at most one step per period.
    for (let i = 0; i < decisions.length; i++) {
      expect(decisions[i]!.workersAfter).toBeGreaterThanOrEqual(1);
      expect(decisions[i]!.workersAfter).toBeLessThanOrEqual(6);
      expect(Math.abs(decisions[i]!.workersAfter - decisions[i]!.workersBefore)).toBeLessThanOrEqual(1);
    }
    expect(Math.max(...duringLoad), `sizes during load: ${duringLoad.join(' ')}`).toBeGreaterThanOrEqual(4);
    for (const n of settled) expect([4, 5], `settled sizes: ${settled.join(' ')}`).toContain(n);

    // Load stopped: back to min-workers.
    await until(() => decisions.at(-1)?.workersAfter === 1 && daemon.supervisor.activeCount() === 1, 'the pool back at min-workers', 30_000);
    await until(async () => {
      const c = await q.getJobCounts('completed', 'failed', 'waiting', 'active');
      return c.completed === added ? c : undefined;
    }, 'every job completed', 15_000);
    const counts = await q.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed');
    expect(counts).toEqual({ completed: added, failed: 0, waiting: 0, active: 0, delayed: 0 });
    // Scale-down never interrupted a job: every job started once and ended once.
    const starts = pool.events.filter((e) => e.type === 'job-start').length;
    const ends = pool.events.filter((e) => e.type === 'job-end' && e.status === 'completed').length;
    expect(starts).toBe(added);
    expect(ends).toBe(added);
    await q.close();
  }, 90_000);
});
