/**
 * Issue 3, item 3: --job-timeout fails a job that runs too long (so attempts and back-off apply)
 * and replaces the child that ran it; a job's data.timeoutSeconds overrides the option.
 */
import { describe, expect, it } from 'vitest';
import type { WorkerExit } from '../../src/supervisor/supervisor.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

describe('job time limit', () => {
  it('fails a hung job with a timeout error, retries it per its attempts, and replaces the child each time', async () => {
    const { daemon: d, queue: q } = await startPool({ queues: 'q', processor: fixture('record.mjs'), 'min-workers': '1', 'max-workers': '1', 'job-timeout': '0.5' });
    const exits: WorkerExit[] = [];
    d.supervisor.on('worker-exit', (e) => exits.push(e));
    await q.add('hang', {}, { jobId: 'h', attempts: 2 });
    await until(async () => (await q.getJobState('h')) === 'failed', 'the hung job failed', 20_000);
    const job = await q.getJob('h');
    expect(job!.failedReason).toMatch(/job timed out after 0\.5 s/);
    expect(job!.attemptsMade).toBe(2);
    await until(() => exits.length >= 2, 'both children that ran it exited');
    expect(exits.map((e) => e.reason)).toEqual(['job_timeout', 'job_timeout']);
    // The pool goes on: a normal job completes in the replacement.
    await q.add('ok', { ms: 10 }, { jobId: 'ok' });
    await until(async () => (await q.getJobState('ok')) === 'completed', 'a normal job completed');
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/worker_pool_worker_exits_total\{reason="job_timeout",pool="default"\} 2/);
  });

  it('data.timeoutSeconds overrides --job-timeout', async () => {
    const { queue: q } = await startPool({ queues: 'q', processor: fixture('record.mjs'), 'min-workers': '1', 'max-workers': '1', 'job-timeout': '0.2' });
    await q.add('slow', { ms: 600, timeoutSeconds: 5 }, { jobId: 'longer-limit' });
    await q.add('slow', { ms: 600, timeoutSeconds: 0.3 }, { jobId: 'shorter-limit' });
    await until(async () => (await q.getJobState('shorter-limit')) === 'failed', 'the job with a shorter limit failed', 20_000);
    expect(await q.getJobState('longer-limit')).toBe('completed');
    expect((await q.getJob('shorter-limit'))!.failedReason).toMatch(/timed out after 0\.3 s/);
  });
});
