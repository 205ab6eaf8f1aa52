/**
 * The container image (issue 24), built by `npm run image` and run with podman: a pool in the
 * container on a Redis outside it processes jobs; PID 1 (tini) reaps the grandchildren jobs leave
 * behind, which the daemon as PID 1 does not; memory and CPU limits are visible where the daemon
 * runs; `podman stop -t 10` ends the container by itself, a short job finished, a long one handed
 * back to waiting and finished by the next container. Nothing is judged from the daemon's view:
 * runs are counted by the jobs themselves (fixtures/run-recorder.mjs) and by what Redis holds.
 * Run by `npm run test:container` (root, podman; the first build needs the Debian mirror and npm).
 */
import { describe, expect, it } from 'vitest';
import { containerPools, IMAGE, podmanOk, type ContainerPoolOptions } from '../helpers/podman.js';
import { uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

// The Redis is outside the container, reached over the host's network.
const pools = containerPools('image', ['record.mjs', 'run-recorder.mjs', 'orphan-grandchild.mjs']);
const startPool = pools.start;

/** Runs recorded by the jobs themselves (HINCRBY per job id, once per lock token). */
async function runs(key: string): Promise<Record<string, string>> {
  return pools.db.hgetall(key);
}

describe('the container image', () => {
  it('runs a pool as a non-root user under tini on a read-only file system, which processes jobs from a Redis outside it', async () => {
    // Read-only, as the Kubernetes manifests run it: nothing writes to the image's file system.
    const pool = await startPool('record.mjs', ['--min-workers', '2', '--max-workers', '2', '--concurrency', '2'], { options: ['--read-only'] });
    const key = `${pool.prefix}:runs`;
    await pool.queue.addBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'j', data: { ms: 20, record: key, redis: pools.redis.url }, opts: { jobId: `j${i}` } })));
    await until(async () => Object.keys(await runs(key)).length === 20, 'the 20 jobs to record their runs');
    expect(Object.values(await runs(key))).toEqual(Array(20).fill('1'));
    expect(await pool.queue.getJobCounts('waiting', 'active', 'failed')).toEqual({ waiting: 0, active: 0, failed: 0 });

    const procs = await pool.container.processes();
    expect(procs.find((p) => p.pid === 1)?.comm).toBe('tini');
    const status = await pool.container.exec(['sh', '-c', 'grep ^Uid: /proc/1/status; grep ^Uid: /proc/$(cat /proc/1/task/1/children | cut -d" " -f1)/status']);
    expect(status.stdout.trim().split('\n').map((l) => l.split(/\s+/)[1])).toEqual(['10001', '10001']);
    // /metrics from outside the container: the image binds every address.
    const metrics = await (await fetch(`http://127.0.0.1:${pool.port}/metrics`)).text();
    expect(metrics).toMatch(/^worker_pool_workers\{[^}]*\} 2$/m);
  });

  it('reaps the grandchildren 50 jobs leave behind: no zombies; with the daemon as PID 1 (no tini) all 50 stay', async () => {
    const count = async (entry: ContainerPoolOptions) => {
      const pool = await startPool('orphan-grandchild.mjs', ['--min-workers', '1', '--max-workers', '1', '--concurrency', '5'], entry);
      await pool.queue.addBulk(Array.from({ length: 50 }, (_, i) => ({ name: 'orphan', data: {}, opts: { jobId: `o${i}` } })));
      await until(async () => (await pool.queue.getCompletedCount()) === 50, '50 jobs to complete');
      const grandchildren = (await Promise.all(Array.from({ length: 50 }, (_, i) => pool.queue.getJob(`o${i}`)))).map((j) => (j!.returnvalue as { grandchild: number }).grandchild);
      expect(new Set(grandchildren).size).toBe(50);
      // Each sleep lasts 0.1 s: wait until none is still sleeping, then look for the dead ones.
      await until(async () => (await pool.container.processes()).every((p) => p.comm !== 'sleep' || p.state === 'Z'), 'every sleep to end', 30_000, 100);
      const zombies = (await pool.container.processes()).filter((p) => p.state === 'Z');
      await pool.container.remove();
      return zombies;
    };
    expect(await count({})).toEqual([]);
    const withoutInit = await count({ options: ['--entrypoint', 'node'], args: ['/app/bin/worker-pool'] });
    expect(withoutInit.length).toBe(50);
    expect(new Set(withoutInit.map((z) => z.comm))).toEqual(new Set(['sleep']));
  });

  it('shows podman --memory and --cpus limits where the daemon runs (the cgroup files its guards read)', async () => {
    const pool = await startPool('record.mjs', ['--min-workers', '1', '--max-workers', '2'], { options: ['--memory', '256m', '--cpus', '1'] });
    const limits = await pool.container.cgroupLimits();
    expect(limits.memoryBytes).toBe(256 * 1024 * 1024);
    expect(limits.cpuCores).toBe(1);
    console.log(`cgroup ${limits.form} inside the container: memory ${limits.memoryBytes} bytes, ${limits.cpuCores} CPU`);
    expect((await pool.container.state()).oomKilled).toBe(false);
  });

  it('podman stop -t 10 with a short job running: the job finishes and the container exits 0 by itself, well before the kill', async () => {
    const pool = await startPool('record.mjs', ['--min-workers', '1', '--max-workers', '1']);
    const key = `${pool.prefix}:runs`;
    await pool.queue.add('short', { ms: 2000, record: key, redis: pools.redis.url }, { jobId: 'short' });
    await until(async () => (await pool.queue.getActiveCount()) === 1, 'the job to start');
    const t0 = Date.now();
    await pool.container.stop(10);
    const seconds = (Date.now() - t0) / 1000;
    console.log(`podman stop -t 10 with a 2 s job running: the container ended after ${seconds.toFixed(1)} s`);
    expect(await pool.container.state()).toMatchObject({ running: false, exitCode: 0 });
    expect(seconds).toBeLessThan(10);
    expect(await runs(key)).toEqual({ short: '1' });
    expect(await (await pool.queue.getJob('short'))!.getState()).toBe('completed');
  });

  it('podman stop -t 10 with a job longer than the budget: the container exits by itself before the kill, the job is back in waiting and the next container runs it once', async () => {
    const prefix = uniquePrefix('image-stop');
    const key = `${prefix}:runs`;
    const first = await startPool('record.mjs', ['--min-workers', '1', '--max-workers', '1'], { prefix });
    await first.queue.add('long', { ms: 120_000, retryMs: 50, record: key, redis: pools.redis.url }, { jobId: 'long' });
    await until(async () => (await first.queue.getActiveCount()) === 1, 'the job to start');
    const t0 = Date.now();
    await first.container.stop(10);
    const seconds = (Date.now() - t0) / 1000;
    console.log(`podman stop -t 10 with a 120 s job running: the container ended after ${seconds.toFixed(1)} s`);
    const logs = (await first.container.logs()).split('\n').slice(-15).join('\n');
    // 1: stopped, running jobs handed back (docs/operations.md); 137 would be podman's SIGKILL.
    expect(await first.container.state(), logs).toMatchObject({ running: false, exitCode: 1 });
    expect(seconds).toBeLessThan(10);
    const job = (await first.queue.getJob('long'))!;
    const seen = `${JSON.stringify({ state: await job.getState(), attemptsMade: job.attemptsMade, attemptsStarted: job.attemptsStarted, stalledCounter: job.stalledCounter, failedReason: job.failedReason })}\n${logs}`;
    expect(await job.getState(), seen).toBe('waiting');
    expect(job.attemptsMade, seen).toBe(0);
    expect(await runs(key)).toEqual({});

    await startPool('record.mjs', ['--min-workers', '1', '--max-workers', '1'], { prefix });
    await until(async () => (await runs(key))['long'] === '1', 'the next container to run the job', 60_000);
    expect(await (await first.queue.getJob('long'))!.getState()).toBe('completed');
    expect(await runs(key)).toEqual({ long: '1' });
  });

  it('is the image npm run image tagged', async () => {
    const config = JSON.parse(await podmanOk(['image', 'inspect', '--format', '{{json .Config}}', IMAGE])) as { User: string; StopSignal: string; Entrypoint: string[]; ExposedPorts: Record<string, unknown> };
    expect(config.User).toBe('10001:10001');
    expect(config.StopSignal).toBe('SIGTERM');
    expect(config.Entrypoint).toEqual(['/usr/bin/tini', '-s', '--', 'node', '/app/bin/worker-pool']);
    expect(Object.keys(config.ExposedPorts)).toEqual(['9464/tcp']);
  });
});
