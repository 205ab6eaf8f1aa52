/**
 * Issue 3, item 2: recycling. --max-jobs-per-worker is exact (a child stops fetching at its N-th
 * job and asks for a successor); --max-memory-mb replaces a leaking child. No job is lost.
 */
import { describe, expect, it } from 'vitest';
import type { WorkerExit } from '../../src/supervisor/supervisor.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { client, redisUrl } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

describe('recycling', () => {
  it('--max-jobs-per-worker 5: each child runs exactly 5 jobs, its successor starts first, none lost', async () => {
    const { daemon: d, queue: q } = await startPool({ queues: 'q', processor: fixture('record.mjs'), concurrency: '3', 'min-workers': '1', 'max-workers': '1', 'max-jobs-per-worker': '5' });
    const exits: WorkerExit[] = [];
    d.supervisor.on('worker-exit', (e) => exits.push(e));
    let minActive = Infinity;
    d.supervisor.on('worker-message', () => (minActive = Math.min(minActive, d.supervisor.activeCount())));
    await q.addBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'j', data: { ms: 30 }, opts: { jobId: `j${i}` } })));
    await until(async () => (await q.getCompletedCount()) === 20, 'every job completed', 45_000);
    const jobs = await q.getCompleted(0, -1);
    const perPid = new Map<number, number>();
    for (const j of jobs) perPid.set((j.returnvalue as { pid: number }).pid, (perPid.get((j.returnvalue as { pid: number }).pid) ?? 0) + 1);
    console.log(`jobs per child: ${[...perPid.values()].join(', ')}`);
    expect([...perPid.values()]).toEqual([5, 5, 5, 5]);
    await until(() => exits.length >= 3, 'three children retired');
    expect(exits.every((e) => e.reason === 'max_jobs')).toBe(true);
    expect(minActive).toBeGreaterThanOrEqual(1); // the successor is in the pool before the old one leaves
  });

  it('--max-memory-mb: a leaking child is replaced, and no job is lost', async () => {
    const { daemon: d, queue: q, prefix } = await startPool({ queues: 'q', processor: fixture('leak.mjs'), 'min-workers': '1', 'max-workers': '1', 'max-memory-mb': '160', 'sample-interval': '0.1' });
    const exits: WorkerExit[] = [];
    d.supervisor.on('worker-exit', (e) => exits.push(e));
    const runs = `${prefix}:runs`;
    const c = client();
    try {
      for (let i = 0; i < 16; i++) {
        await q.add('leak', { mb: 25, record: runs, redis: redisUrl() }, { jobId: `m${i}` });
        // One at a time, so memory is sampled between jobs as it grows.
        await until(async () => (await c.hlen(runs)) === i + 1, `job ${i} done`, 20_000);
      }
      await until(() => exits.length >= 1, 'a child recycled for memory');
      expect(exits.map((e) => e.reason)).toContain('max_memory');
      // The processor records its run before BullMQ records the completion: wait for the last one.
      await until(async () => (await q.getCompletedCount()) === 16, 'every job completed', 20_000);
      expect(await q.getCompletedCount()).toBe(16);
      expect(Object.values(await c.hgetall(runs)).every((v) => v === '1')).toBe(true);
      const metrics = await (await fetch(`${d.url}/metrics`)).text();
      expect(metrics).toMatch(/worker_pool_worker_exits_total\{reason="max_memory",pool="default"\} [1-9]/);
    } finally {
      c.disconnect();
    }
  });
});
