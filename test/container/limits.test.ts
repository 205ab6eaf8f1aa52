/**
 * The image within its platform's limits (issue 24, items 2 and 4), run with podman: `podman stop
 * -t 10` with jobs far longer than the budget ends by itself before the kill (the image tells the
 * daemon Docker's 10 s), the short jobs finished, the long ones back in waiting, and nothing lost;
 * the same with Redis stopped (SIGSTOP: connections open, no answer) halfway through the stop, the
 * long jobs then run once by the next container once Redis answers; and under `--memory` the pool
 * stops adding workers below the limit, says memory held it, and nothing is OOM-killed. Runs are
 * counted by the jobs themselves and by what Redis holds. Run by `npm run test:container`.
 */
import { describe, expect, it } from 'vitest';
import { containerPools, podmanOk, type Container } from '../helpers/podman.js';
import { until } from '../helpers/wait.js';

// Its own Redis, outside the containers: one test stops it (SIGSTOP), and it is woken after every test.
const pools = containerPools('limits', ['record.mjs', 'run-recorder.mjs', 'hold-memory.mjs'], (p) => {
  if (p.redis.pid) process.kill(p.redis.pid, 'SIGCONT');
});
/** A pool in a container from the image (its environment as the image sets it: the 10 s budget), on queue q. */
const startPool = pools.start;

/** Four jobs of 120 s and two of 1 s, all six running in two workers of three slots. */
async function busyPool() {
  const pool = await startPool('record.mjs', ['--min-workers', '2', '--max-workers', '2', '--concurrency', '3', '--lock-duration', '4', '--lease-seconds', '2']);
  const key = `${pool.prefix}:runs`;
  await pool.queue.addBulk([
    ...[1, 2, 3, 4].map((i) => ({ name: 'long', data: { ms: 120_000, retryMs: 50, record: key, redis: pools.redis.url }, opts: { jobId: `long-${i}` } })),
    ...[1, 2].map((i) => ({ name: 'short', data: { ms: 1000, record: key, redis: pools.redis.url }, opts: { jobId: `short-${i}` } })),
  ]);
  await until(async () => (await pool.queue.getActiveCount()) === 6, 'the six jobs to run');
  return { ...pool, key };
}

const LONG = ['long-1', 'long-2', 'long-3', 'long-4'];

/** When the container's process ended (podman's record), in ms since the epoch: podman stop returns later, after its clean-up. */
async function finishedAt(c: Container): Promise<number> {
  const raw = (await podmanOk(['inspect', '--format', '{{.State.FinishedAt.UnixMilli}}', c.name])).trim();
  const ms = Number(raw);
  if (!Number.isFinite(ms) || ms <= 0) throw new Error(`podman inspect gave no end time for ${c.name}: ${raw}`);
  return ms;
}

describe('the image within its limits', () => {
  it('podman stop -t 10 with jobs longer than the budget: exits by itself before the kill, short jobs done, the long ones back in waiting', async () => {
    const pool = await busyPool();
    const t0 = Date.now();
    await pool.container.stop(10);
    const returned = (Date.now() - t0) / 1000;
    const seconds = ((await finishedAt(pool.container)) - t0) / 1000;
    console.log(`podman stop -t 10, four 120 s jobs and two 1 s jobs running: the container ended ${seconds.toFixed(1)} s after the stop (podman stop returned after ${returned.toFixed(1)} s)`);
    // 1: stopped with jobs handed back; podman's SIGKILL would be 137.
    expect(await pool.container.state()).toMatchObject({ running: false, exitCode: 1 });
    expect(seconds).toBeLessThan(10);
    expect((await pool.queue.getWaiting()).map((j) => j.id).sort()).toEqual(LONG);
    expect((await pool.queue.getCompleted()).map((j) => j.id).sort()).toEqual(['short-1', 'short-2']);
    expect(await pool.queue.getJobCounts('active', 'failed')).toEqual({ active: 0, failed: 0 });
    expect(await pools.db.hgetall(pool.key)).toEqual({ 'short-1': '1', 'short-2': '1' });
    const stopping = (await pool.container.logs()).split('\n').find((l) => l.includes('"msg":"stopping: draining workers"'));
    expect(JSON.parse(stopping!)).toMatchObject({ stopBudget: 10, stopTimeout: 9 });
  });

  it('the same with Redis stopped halfway through the stop: still exits by itself before the kill; once Redis answers, the next container runs every long job once', async () => {
    const pool = await busyPool();
    const t0 = Date.now();
    const stopped = pool.container.stop(10);
    // The short jobs finish during the drain; then Redis answers nothing, before the hand-back (at 6 s).
    await until(async () => (await pool.queue.getCompletedCount()) === 2, 'the short jobs to complete', 5000, 20);
    process.kill(pools.redis.pid!, 'SIGSTOP');
    const pausedAt = (Date.now() - t0) / 1000;
    await stopped;
    const returned = (Date.now() - t0) / 1000;
    process.kill(pools.redis.pid!, 'SIGCONT');
    const seconds = ((await finishedAt(pool.container)) - t0) / 1000;
    console.log(`podman stop -t 10, Redis stopped ${pausedAt.toFixed(1)} s in: the container ended ${seconds.toFixed(1)} s after the stop (podman stop returned after ${returned.toFixed(1)} s)`);
    expect(pausedAt).toBeLessThan(6);
    expect(await pool.container.state()).toMatchObject({ running: false, exitCode: 1 });
    expect(seconds).toBeLessThan(10);

    // Nothing lost: the long jobs are still in Redis (active, their locks running out, or waiting),
    // and the next container of the pool runs each of them once.
    const counts = await pool.queue.getJobCounts('active', 'wait', 'failed');
    expect(counts['active']! + counts['wait']!).toBe(4);
    await startPool('record.mjs', ['--min-workers', '2', '--max-workers', '2', '--concurrency', '3', '--lock-duration', '4', '--lease-seconds', '2', '--stalled-interval', '1'], { prefix: pool.prefix });
    await until(async () => (await pool.queue.getCompletedCount()) === 6, 'every job to complete', 60_000);
    expect(await pools.db.hgetall(pool.key)).toEqual(Object.fromEntries([...LONG, 'short-1', 'short-2'].map((id) => [id, '1'])));
    expect(await pool.queue.getFailedCount()).toBe(0);
  });

  it('under --memory 640m with a load that wants 8 workers of 80 MiB: stops adding workers below the limit, says memory held it, nothing OOM-killed', async () => {
    const pool = await startPool('hold-memory.mjs', ['--min-workers', '1', '--max-workers', '8', '--scaling-period', '1', '--window', '2', '--no-cpu-guard', '--log-level', 'debug'], { options: ['--memory', '640m', '--memory-swap', '640m'] });
    await pool.queue.addBulk(Array.from({ length: 40 }, (_, i) => ({ name: 'hold', data: { mb: 80, ms: 120_000 }, opts: { jobId: `m${i}` } })));
    const held = await until(async () => (await pool.container.logs()).split('\n').find((l) => l.includes('memory guard held the step')), 'a decision held by the memory guard', 90_000, 500);
    const decision = JSON.parse(held) as { workersBefore: number; reason: string };
    const status = (await (await fetch(`http://127.0.0.1:${pool.port}/status`)).json()) as { workers: Array<{ state: string; rssBytes: number }> };
    const oom = await pool.container.exec(['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.oom_control 2>/dev/null || cat /sys/fs/cgroup/memory.events']);
    const peak = await pool.container.exec(['sh', '-c', 'cat /sys/fs/cgroup/memory/memory.max_usage_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.peak']);
    console.log(`--memory 640m: held at ${decision.workersBefore} workers (${decision.reason}); cgroup peak ${Math.round(Number(peak.stdout) / 1048576)} MiB`);
    expect(decision.reason).toMatch(/cgroup memory limit 640 MiB less 10% kept free$/);
    expect(decision.workersBefore).toBeGreaterThanOrEqual(2);
    expect(decision.workersBefore).toBeLessThan(8);
    expect(status.workers.filter((w) => w.state !== 'draining').length).toBe(decision.workersBefore);
    // Every worker is running a job with its 80 MiB (the last one forked may still be taking its first).
    await until(async () => (await pool.queue.getActiveCount()) === decision.workersBefore, 'every worker to run a job', 30_000);
    expect(/^oom_kill (\d+)$/m.exec(oom.stdout)?.[1]).toBe('0');
    expect((await pool.container.state()).oomKilled).toBe(false);
    expect(await pool.container.logs()).not.toMatch(/"signal":"SIGKILL"/);
  });
});
