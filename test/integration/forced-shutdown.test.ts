/**
 * Issue 3, item 5: when stop-timeout expires with jobs still running, they go back to their queue
 * (not failed, no attempt used) and finish after a restart. A child too stuck to hand its own
 * jobs back is killed, and the supervisor hands them back from the tokens it holds.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Queue } from 'bullmq';
import type { HandBackOutcome } from '../../src/supervisor/hand-back.js';
import { fixture, poolPerTest, type TestPool } from '../helpers/pool.js';
import { client, queue as openQueue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();
let q: Queue | undefined;
let prefix = '';
afterEach(async () => {
  await q?.close();
});

/** A pool on this test's prefix that follows its job starts (BullMQ's event stream, read from the start). */
function start(): Promise<TestPool> {
  return startPool({ prefix, queues: 'q', processor: fixture('record.mjs'), concurrency: '2', 'min-workers': '1', 'max-workers': '1', 'stop-timeout': '1' }, { followJobs: true });
}

/** Resolves once `n` jobs of queue q have started. */
async function started(pool: TestPool, n: number): Promise<void> {
  await until(() => pool.jobEvents!.starts().length >= n, `${n} jobs to start`);
}

describe('forced shutdown hands running jobs back', () => {
  it('jobs longer than stop-timeout return to waiting, unfailed, and finish after a restart', async () => {
    prefix = uniquePrefix('shutdown');
    q = openQueue('q', prefix);
    const pool1 = await start();
    const d1 = pool1.daemon;
    const returned: string[] = [];
    d1.supervisor.on('worker-message', (_w, m) => m.type === 'job-returned' && returned.push(m.id));
    const running = started(pool1, 2);
    const runs = `${prefix}:runs`;
    await q.add('long', { ms: 30_000, retryMs: 100, record: runs, redis: redisUrl() }, { jobId: 'a' });
    await q.add('long', { ms: 30_000, retryMs: 100, record: runs, redis: redisUrl() }, { jobId: 'b' });
    await running;
    const t0 = performance.now();
    const { forced } = await pool1.stop();
    const stopS = (performance.now() - t0) / 1000;
    console.log(`stop with 2 jobs longer than stop-timeout (1 s): ${stopS.toFixed(2)} s`);
    expect(forced).toBe(true);
    expect(stopS).toBeLessThan(5);
    expect(returned.sort()).toEqual(['a', 'b']);
    expect(await q.getJobCounts('wait', 'active', 'failed')).toEqual({ wait: 2, active: 0, failed: 0 });
    const c = client();
    try {
      expect(await c.exists(`${prefix}:q:a:lock`, `${prefix}:q:b:lock`)).toBe(0);
      expect((await q.getJob('a'))!.attemptsMade).toBe(0);
      // A new daemon (a restart) runs them to the end.
      await start();
      await until(async () => (await q!.getCompletedCount()) === 2, 'both jobs completed after the restart');
      expect(await c.hgetall(runs)).toEqual({ a: '1', b: '1' });
    } finally {
      c.disconnect();
    }
  });

  it('a child too stuck to answer is killed and the supervisor hands its job back', async () => {
    prefix = uniquePrefix('shutdown');
    q = openQueue('q', prefix);
    const pool = await start();
    const outcomes: HandBackOutcome[] = [];
    pool.daemon.handBack.on('outcome', (o) => outcomes.push(o));
    const running = started(pool, 1);
    await q.add('spin', {}, { jobId: 'stuck' });
    await running;
    const { forced } = await pool.stop();
    expect(forced).toBe(true);
    expect(outcomes.map((o) => [o.kind, o.job.id])).toEqual([['returned', 'stuck']]);
    expect(await q.getJobState('stuck')).toBe('waiting');
    expect((await q.getJob('stuck'))!.attemptsMade).toBe(0);
  });
});
