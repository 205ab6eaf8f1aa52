/**
 * Issue 13, item 3: a job that blocks its worker's event loop. While the child's process lives its
 * jobs are not taken from it (the supervisor keeps their locks alive), so the job runs once; a job
 * past its time limit in a child whose loop is blocked is failed by the supervisor, which kills
 * the child; and the silence is counted and logged with the child's pid.
 */
import { describe, expect, it } from 'vitest';
import type { WorkerExit } from '../../src/supervisor/supervisor.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { client as redisClient, redisUrl } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

describe('a job that blocks its event loop', () => {
  it('runs once and completes, though it blocks for longer than its lock lasts', async () => {
    // A 2 s lock and a 1 s stalled check: without the supervisor's renewal, a 5 s block loses the
    // lock, the other worker's stalled check moves the job back, and it starts a second time.
    const { daemon: d, queue: q, prefix, logs } = await startPool({
      queues: 'q',
      processor: fixture('block.mjs'), 'min-workers': '2', 'max-workers': '2', 'lock-duration': '2', 'stalled-interval': '1', 'sample-interval': '0.2', 'lease-seconds': '1', 'heartbeat-seconds': '0.5',
    });
    await until(() => d.supervisor.runningCount() >= 2, 'two workers ready');
    const record = `${prefix}:runs`;
    await q.add('block', { ms: 5000, redis: redisUrl(), record }, { jobId: 'b', attempts: 3 });
    await until(async () => (await q.getJobState('b')) === 'completed', 'the blocking job completed', 30_000);
    const r = redisClient();
    expect(await r.hget(`${record}:starts`, 'b')).toBe('1');
    expect(await r.hget(record, 'b')).toBe('1');
    const job = await q.getJob('b');
    expect(job!.attemptsMade).toBe(1);
    expect(job!.stalledCounter ?? 0).toBe(0);
    // The silence was noticed: counted, and logged with the pid.
    const frozen = logs.find((l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('worker frozen'));
    expect(frozen?.['pid']).toEqual(expect.any(Number));
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/worker_pool_worker_frozen_total\{pool="default"\} [1-9]/);
  });

  it('past its time limit, is failed with the time-limit reason by the supervisor, which kills the child', async () => {
    const { daemon: d, queue: q, prefix } = await startPool({ queues: 'q', processor: fixture('block.mjs'), 'min-workers': '1', 'max-workers': '1', 'job-timeout': '1' });
    const exits: WorkerExit[] = [];
    d.supervisor.on('worker-exit', (e) => exits.push(e));
    await q.add('block', { ms: 0, redis: redisUrl(), record: `${prefix}:runs` }, { jobId: 'forever' });
    await until(async () => (await q.getJobState('forever')) === 'failed', 'the job that never yields failed', 30_000);
    expect((await q.getJob('forever'))!.failedReason).toMatch(/timed out after 1 s \(hard limit/);
    await until(() => exits.length >= 1, 'its worker was killed');
    expect(exits[0]!.reason).toBe('job_timeout');
    expect(exits[0]!.signal).toBe('SIGKILL');
    // The pool goes on with a new child.
    await until(() => d.supervisor.runningCount() >= 1, 'a replacement is running');
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/worker_pool_job_hard_timeouts_total\{queue="q",pool="default"\} 1/);
  });

  it('stopped by SIGSTOP with no --job-timeout, is killed after --lock-duration and its job comes back and completes (issue 26.10)', async () => {
    // The supervisor keeps a live child's locks, so a stopped child held its job for good; a plain
    // BullMQ Worker's job would come back through the stalled check once its lock expired.
    // Resolves once its one worker is ready.
    const { daemon: d, queue: q, prefix, logs } = await startPool({
      queues: 'q',
      processor: fixture('block.mjs'), 'min-workers': '1', 'max-workers': '1', 'lock-duration': '2', 'sample-interval': '0.2', 'lease-seconds': '1', 'heartbeat-seconds': '0.5',
    });
    const exits: WorkerExit[] = [];
    d.supervisor.on('worker-exit', (e) => exits.push(e));
    const record = `${prefix}:runs`;
    const r = redisClient();
    await q.add('block', { ms: 2000, redis: redisUrl(), record }, { jobId: 'held' });
    await until(async () => (await r.hget(`${record}:starts`, 'held')) === '1', 'the job started');
    const stoppedPid = d.supervisor.workers()[0]!.pid!;
    process.kill(stoppedPid, 'SIGSTOP');
    try {
      await until(async () => (await q.getJobState('held')) === 'completed', 'the job of the stopped worker completed elsewhere', 40_000);
    } finally {
      try {
        process.kill(stoppedPid, 'SIGCONT');
      } catch {
        // killed, as it should be
      }
    }
    expect(exits.map((e) => [e.worker.pid, e.reason, e.signal])).toEqual([[stoppedPid, 'stopped', 'SIGKILL']]);
    // From the work's own record: started twice (the stopped run never finished), ended once, by another process.
    expect(await r.hget(`${record}:starts`, 'held')).toBe('2');
    expect(await r.hget(record, 'held')).toBe('1');
    expect(((await q.getJob('held'))!.returnvalue as { pid: number }).pid).not.toBe(stoppedPid);
    const line = logs.find((l) => l['msg'] === 'worker stopped for longer than --lock-duration; killing it so that its jobs are handed back');
    expect(line?.['pid']).toBe(stoppedPid);
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/worker_pool_worker_exits_total\{reason="stopped",pool="default"\} 1/);
  });
});
