/**
 * A run that ends with the job moving itself (DelayedError, WaitingError) is neither completed nor
 * failed, as under BullMQ's Worker: the metrics count it as moved, and only the run that completes
 * counts as completed.
 */
import { Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { client } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

const counter = (text: string, name: string) => Number(new RegExp(`^${name}\\{queue="moves"[^}]*\\} (\\d+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('jobs that move themselves', () => {
  it('count as moved, not completed, until the run that completes', async () => {
    const pool = await startPool({ queues: 'moves', processor: fixture('parity/patterns.mjs'), concurrency: 1, 'min-workers': 1, 'max-workers': 1 });
    const conn = client();
    const q = new Queue('moves', { connection: conn, prefix: pool.prefix });
    await q.add('step', { k: 's' }); // delays itself twice, then completes
    await q.add('requeue', { k: 'r' }); // goes back to wait once, then completes
    const metrics = async () => (await fetch(`${pool.daemon.url}/metrics`)).text();
    const text = await until(async () => {
      const t = await metrics();
      return counter(t, 'worker_pool_jobs_completed_total') === 2 ? t : undefined;
    }, 'both jobs counted as completed', 30_000, 100);
    expect(counter(text, 'worker_pool_jobs_moved_total')).toBe(3);
    expect(counter(text, 'worker_pool_jobs_failed_total')).toBe(0);
    expect(counter(text, 'worker_pool_jobs_started_total')).toBe(5);
    await q.close();
    conn.disconnect();
  });
});
