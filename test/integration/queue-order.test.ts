/**
 * What `concurrency` and `--queues a,b` mean: at most N jobs per worker across all its queues,
 * taken in the order the queues are listed, and nothing fetched beyond free slots.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { queue, uniquePrefix } from '../helpers/redis.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();
const queues: Array<ReturnType<typeof queue>> = [];
afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close()));
});

function open(name: string, prefix: string) {
  const q = queue(name, prefix);
  queues.push(q);
  return q;
}

const fixedFlags = { processor: fixture('sleep.mjs'), 'scaling-period': 60, window: 60 };

describe('queue order and concurrency', () => {
  it('takes every job of the first queue before any of the second when both wait', async () => {
    const prefix = uniquePrefix('order');
    const high = open('high', prefix);
    const low = open('low', prefix);
    // Fill the second queue first, so insertion time cannot explain the order.
    await low.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: `low-${i}`, data: { ms: 30 } })));
    await high.addBulk(Array.from({ length: 6 }, (_, i) => ({ name: `high-${i}`, data: { ms: 30 } })));
    const pool = await startPool({ ...fixedFlags, prefix, queues: 'high,low', concurrency: 2, 'min-workers': 1, 'max-workers': 1 }, { followJobs: true });
    await until(() => pool.events.filter((e) => e.type === 'job-end').length === 12, 'all 12 jobs done', 20_000);
    const startedQueues = pool.events.filter((e) => e.type === 'job-start').map((e) => (e as { queue: string }).queue);
    expect(startedQueues).toEqual([...Array(6).fill('high'), ...Array(6).fill('low')]);
  });

  it('goes back to the first queue as soon as a job arrives there', async () => {
    const prefix = uniquePrefix('order2');
    const high = open('high', prefix);
    const low = open('low', prefix);
    await low.addBulk(Array.from({ length: 8 }, (_, i) => ({ name: `low-${i}`, data: { ms: 150 } })));
    const pool = await startPool({ ...fixedFlags, prefix, queues: 'high,low', concurrency: 1, 'min-workers': 1, 'max-workers': 1 }, { followJobs: true });
    await until(() => pool.events.some((e) => e.type === 'job-start'), 'the first low job to start', 10_000);
    await high.add('urgent', { ms: 10 });
    await until(() => pool.events.filter((e) => e.type === 'job-end').length === 9, 'all 9 jobs done', 20_000);
    const order = pool.events.filter((e) => e.type === 'job-start').map((e) => (e as { name: string }).name);
    // The urgent job runs right after the low job that was running when it arrived.
    expect(order.indexOf('urgent')).toBeLessThanOrEqual(2);
  });

  it('runs at most `concurrency` jobs per worker across all its queues', async () => {
    const prefix = uniquePrefix('conc');
    const a = open('a', prefix);
    const b = open('b', prefix);
    await a.addBulk(Array.from({ length: 6 }, () => ({ name: 'j', data: { ms: 200 } })));
    await b.addBulk(Array.from({ length: 6 }, () => ({ name: 'j', data: { ms: 200 } })));
    const pool = await startPool({ ...fixedFlags, prefix, queues: 'a,b', concurrency: 3, 'min-workers': 2, 'max-workers': 2 }, { followJobs: true });
    await until(() => pool.events.filter((e) => e.type === 'job-end').length === 12, 'all 12 jobs done', 20_000);
    const running = new Map<string, number>();
    let peakPerWorker = 0;
    for (const e of pool.events) {
      const n = (running.get(e.worker) ?? 0) + (e.type === 'job-start' ? 1 : -1);
      running.set(e.worker, n);
      peakPerWorker = Math.max(peakPerWorker, n);
    }
    expect(peakPerWorker).toBe(3);
  });

  it('fetches nothing beyond free slots: waiting jobs stay in the queue for any worker', async () => {
    const prefix = uniquePrefix('prefetch');
    const q = open('default', prefix);
    const pool = await startPool({ ...fixedFlags, prefix, concurrency: 1, 'min-workers': 2, 'max-workers': 2 }, { followJobs: true });
    await q.addBulk(Array.from({ length: 5 }, () => ({ name: 'slow', data: { ms: 1500 } })));
    await until(() => pool.events.filter((e) => e.type === 'job-start').length === 2, 'two jobs to start', 10_000);
    // Two slots in the pool: exactly two jobs are active, the rest wait unclaimed.
    const counts = await q.getJobCounts('active', 'waiting');
    expect(counts).toEqual({ active: 2, waiting: 3 });
    // Each child reports what it runs with its next sample.
    const held = await until(() => {
      const h = pool.daemon.supervisor.workers().map((w) => w.busySlots);
      return h.reduce((a, b) => a + b, 0) === 2 ? h : undefined;
    }, 'both jobs in the samples', 10_000);
    expect(held).toEqual([1, 1]);
  });

  it('an idle worker holds no job while another is busy', async () => {
    const prefix = uniquePrefix('idle');
    const q = open('default', prefix);
    const pool = await startPool({ ...fixedFlags, prefix, concurrency: 4, 'min-workers': 3, 'max-workers': 3 }, { followJobs: true });
    await q.add('slow', { ms: 1000 });
    await until(() => pool.events.some((e) => e.type === 'job-start'), 'the job to start', 10_000);
    const held = await until(() => {
      const h = pool.daemon.supervisor.workers().map((w) => w.busySlots).sort();
      return h.reduce((a, b) => a + b, 0) >= 1 ? h : undefined;
    }, 'the job in a sample', 10_000);
    expect(held).toEqual([0, 0, 1]);
    expect(await q.getJobCounts('active', 'waiting')).toEqual({ active: 1, waiting: 0 });
  });
});
