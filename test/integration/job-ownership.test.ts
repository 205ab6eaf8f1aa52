/**
 * Issue 25, items 2 and 6: a child tracks each run by its lock token, not by the job's id. A job
 * handed back while it runs (as a fleet peer does after a lease ran out) and fetched again by the
 * same child runs twice at once there: the run that holds the lock records the outcome, the other
 * one's refused completion counts as lost to a peer (not failed). And the supervisor's lock keeper
 * renews only the locks of jobs a child reports running: a job whose completion and failure could
 * both not be written is left to run out, not kept alive.
 */
import { Job } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { client, redisUrl } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

const metric = (text: string, name: string) => Number(new RegExp(`^${name}\\{[^}]*queue="q"[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('job ownership by lock token', () => {
  it('a job handed back while it runs and fetched again by the same child completes once, by the run holding its lock; the other run counts as lost to a peer, not failed', async () => {
    const { daemon: d, queue: q, prefix } = await startPool({ queues: 'q', processor: fixture('record.mjs'), concurrency: '2', 'min-workers': '1', 'max-workers': '1' }, { waitReady: false });
    await until(() => d.supervisor.runningCount() === 1, 'the worker running', 30_000);
    const runs = `${prefix}:runs`;
    // First run 1.5 s; the second (attemptsStarted 2) 2.5 s: the first ends while the second runs.
    await q.add('slow', { ms: 1500, retryMs: 2500, record: runs, redis: redisUrl() }, { jobId: 'x' });
    const c = client();
    try {
      const lockKey = `${prefix}:q:x:lock`;
      const first = await until(() => c.get(lockKey), 'the first run to lock the job', 10_000, 10);
      // What a peer does to a dead host's job: a lock-checked move back to waiting.
      const job = (await Job.fromId(q, 'x'))!;
      await job.moveToWait(first);
      const second = await until(async () => {
        const l = await c.get(lockKey);
        return l && l !== first ? l : undefined;
      }, 'the same child to take the job again', 10_000, 10);
      const worker = d.supervisor.workers()[0]!;
      expect(first.startsWith(`${worker.tokenBase}:`) && second.startsWith(`${worker.tokenBase}:`)).toBe(true);
      await until(async () => (await q.getJobState('x')) === 'completed', 'the job completed', 20_000, 50);
      const done = (await Job.fromId(q, 'x'))!;
      expect(done.failedReason).toBeUndefined();
      expect(await c.hget(runs, 'x')).toBe('2');
      // The completion recorded is the second run's (its result says how long it ran).
      expect(done.returnvalue).toMatchObject({ ms: 2500 });
      const text = await until(async () => {
        const t = await (await fetch(`${d.url}/metrics`)).text();
        return metric(t, 'worker_pool_jobs_completed_total') === 1 ? t : undefined;
      }, 'the completion counted', 10_000, 100);
      expect(metric(text, 'worker_pool_jobs_lost_to_peer_total')).toBe(1);
      expect(metric(text, 'worker_pool_jobs_failed_total')).toBe(0);
      expect(await q.getJobCounts('active', 'wait', 'failed')).toEqual({ active: 0, wait: 0, failed: 0 });
    } finally {
      c.disconnect();
    }
  });

  it('a job whose completion and failure could both not be written is not kept alive by the lock keeper: its lock runs out while its worker lives', async () => {
    const lockS = 3;
    const { daemon: d, queue: q, prefix } = await startPool({ queues: 'q', processor: fixture('record.mjs'), concurrency: '1', 'min-workers': '1', 'max-workers': '1', 'lock-duration': String(lockS), 'lease-seconds': '2', 'heartbeat-seconds': '0.5' }, { waitReady: false });
    await until(() => d.supervisor.runningCount() === 1, 'the worker running', 30_000);
    await q.add('unrecordable', { redis: redisUrl() }, { jobId: 'u' });
    const c = client();
    try {
      const lockKey = `${prefix}:q:u:lock`;
      await until(() => c.get(lockKey), 'the job locked', 10_000, 10);
      await until(async () => (await c.exists(`${prefix}:q:u`)) === 0, 'the run to delete its job', 10_000, 10);
      const t0 = Date.now();
      // The keeper runs every lock-duration / 3; under the old keeper the lock never ran out.
      await until(async () => (await c.exists(lockKey)) === 0, 'the lock of the job nobody runs to run out', 4 * lockS * 1000, 100);
      console.log(`lock of a job its run let go of ran out ${Date.now() - t0} ms after the run (lock-duration ${lockS} s)`);
      expect(d.supervisor.workers()[0]!.alive).toBe(true);
    } finally {
      c.disconnect();
    }
  });
});
