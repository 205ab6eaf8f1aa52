/**
 * Issue 3, item 6: Redis down at start-up, and Redis restarted while jobs run. Each test starts its
 * own redis-server (append-only file on, so a restart keeps the queues).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Queue } from 'bullmq';
import type { Daemon } from '../../src/daemon/daemon.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';
import type { WorkerExit } from '../../src/supervisor/supervisor.js';
import { fixture, startPool, type TestPool } from '../helpers/pool.js';
import { client, queue as openQueue } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

let pool: TestPool | undefined;
let redis: EmbeddedRedis | undefined;
let q: Queue | undefined;
afterEach(async () => {
  await pool?.close();
  await q?.close();
  await redis?.stop();
  pool = undefined;
  q = undefined;
});

const readyz = async (d: Daemon) => (await fetch(`${d.url}/readyz`)).status;

describe('Redis outages', () => {
  it('Redis down at start-up: the daemon waits, reports not ready, no restart storm, and processes once Redis is up', async () => {
    redis = await startEmbeddedRedis({ appendOnly: true });
    await redis.stop({ keepDir: true });
    pool = await startPool({ 'redis-url': redis.url, queues: 'q', processor: fixture('record.mjs'), 'min-workers': '2', 'max-workers': '2', 'scaling-period': '0.5', window: '2' }, { waitReady: false });
    const { daemon: d, prefix } = pool;
    const exits: WorkerExit[] = [];
    d.supervisor.on('worker-exit', (e) => exits.push(e));
    const t0 = performance.now();
    // Several scaling periods with Redis down.
    await until(() => performance.now() - t0 > 3000 && d.loop.decisions.length >= 3, 'a few ticks with Redis down', 15_000);
    expect(await readyz(d)).toBe(503);
    expect(exits).toEqual([]);
    expect(d.healthy()).toBe(true);

    await redis.restart();
    const up = performance.now();
    q = openQueue('q', prefix, redis.url);
    q.on('error', () => undefined);
    await q.add('ok', { ms: 10 }, { jobId: 'first' });
    await until(async () => (await q!.getJobState('first')) === 'completed', 'the first job completed', 20_000);
    console.log(`Redis up → first job completed: ${((performance.now() - up) / 1000).toFixed(2)} s`);
    await until(async () => (await readyz(d)) === 200, 'ready once Redis is up', 10_000);
    expect(exits).toEqual([]);
  });

  it('stopping with Redis unreachable does not hang: it ends within stop-timeout', async () => {
    redis = await startEmbeddedRedis({ appendOnly: true });
    pool = await startPool({ 'redis-url': redis.url, queues: 'q', processor: fixture('record.mjs'), 'min-workers': '2', 'max-workers': '2', 'stop-timeout': '2' }, { waitReady: false });
    const { prefix } = pool;
    q = openQueue('q', prefix, redis.url);
    q.on('error', () => undefined);
    await q.add('long', { ms: 60_000 }, { jobId: 'held' });
    await until(() => pool!.daemon.supervisor.workers().some((w) => w.busySlots > 0), 'a worker running the job');
    await redis.stop({ keepDir: true });
    const t0 = performance.now();
    const { forced } = await pool.stop();
    const s = (performance.now() - t0) / 1000;
    console.log(`stop with Redis down and a job running: ${s.toFixed(2)} s (stop-timeout 2 s)`);
    expect(forced).toBe(true);
    expect(s).toBeLessThan(2 + 0.75); // the stop timeout is the whole budget; a little slack for closing
  });

  it('Redis restarted mid-run (stop, 5 s, start): the daemon stays up, its workers stop at their fleet lease (5 s) and are replaced once Redis is back, and every job before and after completes', async () => {
    redis = await startEmbeddedRedis({ appendOnly: true });
    pool = await startPool({ 'redis-url': redis.url, queues: 'q', processor: fixture('record.mjs'), concurrency: '4', 'min-workers': '2', 'max-workers': '2', 'scaling-period': '0.5', window: '2' }, { waitReady: false });
    const { daemon: d, prefix } = pool;
    q = openQueue('q', prefix, redis.url);
    q.on('error', () => undefined);
    const runs = `${prefix}:runs`;
    const jobs = (from: number, n: number) => Array.from({ length: n }, (_, i) => ({ name: 'j', data: { ms: 20, record: runs, redis: redis!.url }, opts: { jobId: `j${from + i}` } }));
    await q.addBulk(jobs(0, 300));
    const c = client(redis.url);
    c.on('error', () => undefined);
    const exits: WorkerExit[] = [];
    d.supervisor.on('worker-exit', (e) => exits.push(e));
    let orphans = 0;
    d.handBack.on('outcome', (o) => o.kind === 'returned' && orphans++);
    try {
      await until(async () => (await c.hlen(runs)) >= 60, 'some jobs done before the outage', 30_000);
      const desiredBefore = d.supervisor.desired;
      const decisionsBefore = d.loop.decisions.length;
      await redis.stop({ keepDir: true });
      await new Promise((r) => setTimeout(r, 5000)); // the scenario: Redis stays down for 5 s
      expect(await readyz(d)).toBe(503);
      expect(d.supervisor.desired).toBe(desiredBefore);
      await redis.restart();
      await q.addBulk(jobs(300, 300));
      await until(async () => (await c.hlen(runs)) === 600, 'every job recorded', 45_000, 100);
      await until(async () => (await q!.getCompletedCount()) === 600, 'every job completed', 15_000);
      expect(await q.getJobCounts('wait', 'active', 'failed', 'delayed')).toEqual({ wait: 0, active: 0, failed: 0, delayed: 0 });
      const dup = Object.values(await c.hgetall(runs)).filter((v) => v !== '1').length;
      console.log(`Redis restart mid-run: 600 jobs, ${dup} ran twice, ${exits.length} worker exits, ${orphans} jobs of fetches cut by the outage returned, ${d.loop.decisions.length - decisionsBefore} scaling ticks since`);
      // A job may run twice only if the outage cut it off from its worker and it was handed back.
      expect(dup).toBeLessThanOrEqual(orphans);
      // Redis unreachable for longer than the lease less half a heartbeat: the workers stop themselves
      // (the fence; no other exit), and the pool is back to its size once it has registered again.
      expect(exits.map((e) => e.reason).filter((r) => r !== 'fenced')).toEqual([]);
      expect(d.healthy()).toBe(true);
      await until(() => d.supervisor.runningCount() === 2, 'both workers running again', 15_000);
    } finally {
      c.disconnect();
    }
  });
});
