/**
 * Issue 13, item 9: each worker child leads its own process group, and what its jobs spawned is
 * ended with it (a `sleep 600` no longer lives on with PPID 1 after a recycle). A terminal's
 * Ctrl-C (SIGINT to the whole foreground group) still stops the pool cleanly: the children are
 * out of that group, so the supervisor drains them, and nothing is left behind.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CliProcess } from '../helpers/cli.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { deletePrefix, queue as openQueue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { isAlive, until } from '../helpers/wait.js';

const startPool = poolPerTest();

function pgid(pid: number): number {
  // /proc/PID/stat: "pid (comm) state ppid pgrp …"; comm may hold spaces, so split after ')'.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
}

describe('worker process groups', () => {
  it('a recycled worker takes the processes its job spawned with it', async () => {
    const { daemon: d, queue: q } = await startPool({ queues: 'q', processor: fixture('spawn-sleep.mjs'), 'min-workers': '1', 'max-workers': '1', 'max-jobs-per-worker': '1' });
    const first = await until(() => d.supervisor.workers().find((w) => w.state === 'running'), 'a worker running');
    expect(pgid(first.pid!), 'the worker leads its own process group').toBe(first.pid);
    await q.add('spawn', {}, { jobId: 'one' });
    await until(async () => (await q.getJobState('one')) === 'completed', 'the job completed');
    const { sleepPid } = (await q.getJob('one'))!.returnvalue as { sleepPid: number };
    await until(() => !isAlive(first.pid!), 'the recycled worker exited', 20_000);
    await until(() => !isAlive(sleepPid), `the job's sleep 600 (pid ${sleepPid}) ended with its worker`, 10_000);
  });

  it("Ctrl-C (SIGINT to the terminal's process group) drains and stops the pool, leaving no process", async () => {
    const prefix = uniquePrefix('ctrlc');
    // Its own group, as a shell gives a foreground job: the "terminal" signals the whole group.
    const p = new CliProcess(['--redis-url', redisUrl(), '--prefix', prefix, '--processor', fixture('sleep.mjs'), '--min-workers', '2', '--max-workers', '2', '--metrics-port', '0', '--log-format', 'json'], { detached: true });
    try {
      await until(async () => (await p.status()).runningWorkers === 2, 'two workers running', 30_000, 100);
      const pids = (await p.status()).workers.map((w) => w.pid!);
      process.kill(-p.proc.pid!, 'SIGINT');
      expect((await p.exited).code).toBe(0);
      await until(() => pids.every((pid) => !isAlive(pid)), 'every worker gone', 5000);
    } finally {
      await p.stop('SIGKILL');
      await deletePrefix(prefix);
    }
  });

  it('a supervisor killed with SIGKILL: its workers exit and take what their jobs spawned with them', async () => {
    const prefix = uniquePrefix('pgkill');
    const p = new CliProcess(['--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'q', '--processor', fixture('spawn-sleep.mjs'), '--min-workers', '1', '--max-workers', '1', '--metrics-port', '0', '--log-format', 'json']);
    const q = openQueue('q', prefix);
    try {
      await until(async () => (await p.status()).runningWorkers === 1, 'a worker running', 30_000, 100);
      const [worker] = (await p.status()).workers.map((w) => w.pid);
      await q.add('spawn', {}, { jobId: 'one' });
      await until(async () => (await q.getJobState('one')) === 'completed', 'the job completed');
      const { sleepPid } = (await q.getJob('one'))!.returnvalue as { sleepPid: number };
      expect(isAlive(sleepPid)).toBe(true);
      p.kill('SIGKILL');
      await until(() => !isAlive(worker!), 'the orphaned worker exited', 20_000);
      await until(() => !isAlive(sleepPid), `the job's sleep 600 (pid ${sleepPid}) ended with its worker`, 10_000);
    } finally {
      await p.stop('SIGKILL');
      await q.close();
      await deletePrefix(prefix);
    }
  });
});
