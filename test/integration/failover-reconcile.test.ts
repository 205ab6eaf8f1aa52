/**
 * After a failover the supervisor returns jobs that are active and locked with a live child's
 * token although the child does not run them: what a demoted master accepted (a completion) and
 * lost leaves exactly that on the new master. Built here by hand, without a failover: a job moved
 * to active with a lock in a live child's token space. A job the child does run is left alone.
 */
import { describe, expect, it } from 'vitest';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { client } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

describe('reconcile after a failover', () => {
  it("a job locked by a live child that does not run it goes back to waiting at once and completes; the child's own running job is untouched", async () => {
    const { daemon: d, queue: q, prefix } = await startPool({ queues: 'q', processor: fixture('record.mjs'), concurrency: '2', 'min-workers': '1', 'max-workers': '1' });
    await q.add('ok', { ms: 3000 }, { jobId: 'running' });
    const w = await until(() => d.supervisor.workers().find((x) => x.busySlots > 0), 'the child running its job', 20_000);
    // A job "completed" on a master that was then demoted: active, locked by the child's token space.
    await q.add('ok', { ms: 10 }, { jobId: 'lost', delay: 60_000 });
    const c = client();
    await c.zrem(`${prefix}:q:delayed`, 'lost');
    await c.lpush(`${prefix}:q:active`, 'lost');
    await c.set(`${prefix}:q:lost:lock`, `${w.tokenBase}:999999`, 'PX', 60_000);
    await d.handBack.returnUnheld(d.supervisor.workers(), 200);
    await until(async () => (await q.getJobState('lost')) === 'completed', 'the orphaned job completed', 20_000, 100);
    expect(await q.getJobState('running')).toBe('active');
    await until(async () => (await q.getJobState('running')) === 'completed', 'the running job completed where it ran', 20_000, 100);
    c.disconnect();
  });
});
