/** The daemon's HTTP endpoints and process titles, on a real pool. */
import { execFileSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PoolStatus } from '../../src/daemon/daemon.js';
import { queue } from '../helpers/redis.js';
import { fixture, startPool, type TestPool } from '../helpers/pool.js';
import { until } from '../helpers/wait.js';

let pool: TestPool;
beforeAll(async () => {
  pool = await startPool({ name: 'web', processor: fixture('handlers.mjs'), 'min-workers': 2, 'max-workers': 3, concurrency: 2, 'scaling-period': 0.5, window: 2, 'sample-interval': 0.1 }, { followJobs: true });
});
afterAll(async () => {
  await pool.close();
});

const get = (path: string) => fetch(`${pool.daemon.url}${path}`);

describe('HTTP endpoints', () => {
  it('/healthz and /readyz answer 200 while the pool runs with min workers', async () => {
    expect((await get('/healthz')).status).toBe(200);
    expect((await get('/readyz')).status).toBe(200);
  });

  it('/status describes the pool, its workers, decisions and queues', async () => {
    const q = queue('default', pool.prefix);
    await q.add('add', { a: 2, b: 3 });
    await q.add('boom', {});
    await q.add('missing', {});
    await until(() => pool.events.filter((e) => e.type === 'job-end').length === 3, 'three jobs done', 10_000);
    // The children count jobs in their next sample (within a few ms of the end).
    await until(() => pool.daemon.supervisor.workers().reduce((n, w) => n + w.processed + w.failed, 0) === 3, 'three jobs in the samples', 10_000);
    await until(() => pool.daemon.loop.decisions.length > 0, 'a decision', 10_000);
    const s = (await (await get('/status')).json()) as PoolStatus;
    expect(s).toMatchObject({ pool: 'web', minWorkers: 2, maxWorkers: 3, desiredWorkers: 2, ready: true, utilizationThreshold: 0.5 });
    expect(s.workers).toHaveLength(2);
    for (const w of s.workers) {
      expect(w).toMatchObject({ state: 'running', concurrency: 2, busy: 0 });
      expect(w.pid).toBeGreaterThan(0);
    }
    expect(s.workers.reduce((n, w) => n + w.processed, 0)).toBe(1);
    expect(s.workers.reduce((n, w) => n + w.failed, 0)).toBe(2);
    expect(s.decisions.at(-1)).toMatchObject({ action: expect.stringMatching(/up|down|hold/), workersBefore: 2 });
    expect(s.queueCounts?.['default']).toMatchObject({ completed: 1, failed: 2, waiting: 0, active: 0 });
    const failed = await q.getFailed();
    expect(failed.map((j) => j.failedReason).sort()).toEqual(['boom as requested', 'no handler for job name "missing" (this processor handles: add, boom)']);
    expect((await q.getCompleted())[0]!.returnvalue).toEqual({ sum: 5, initCalls: 1 });
    await q.close();
  });

  it('/metrics has the pool gauges with a pool label', async () => {
    const text = await (await get('/metrics')).text();
    expect(text).toMatch(/^worker_pool_workers\{state="running",pool="web"\} 2$/m);
    expect(text).toMatch(/^worker_pool_utilization_ratio\{pool="web"\} [0-9.]+$/m);
    expect(text).toMatch(/^worker_pool_desired_workers\{pool="web"\} 2$/m);
    expect(text).toMatch(/^worker_pool_jobs_failed_total\{queue="default",pool="web"\} 2$/m);
  });

  it('sets process titles like Sidekiq does', async () => {
    const pids = pool.daemon.supervisor.workers().map((w) => w.pid!);
    const titles = () => pids.map((pid) => execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim()).sort();
    // A child updates its title at most every 100 ms, so the last job's end may show a moment later.
    const expected = ['worker-pool web worker-1 [0 of 2 busy]', 'worker-pool web worker-2 [0 of 2 busy]'];
    await until(() => JSON.stringify(titles()) === JSON.stringify(expected), `titles ${expected.join(', ')}`, 5000);
    expect(titles()).toEqual(expected);
  });

  it('answers 404 with the list of paths for anything else', async () => {
    const res = await get('/nope');
    expect(res.status).toBe(404);
    expect(await res.text()).toMatch(/\/metrics/);
  });
});
