/**
 * Issue 3, item 7: every kind of bad job ends in a defined state and never takes the pool down; a
 * job that kills its worker every time fails after a bounded number of tries (poison pill).
 */
import { describe, expect, it } from 'vitest';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

describe('bad jobs', () => {
  it('no handler, wrong data, throws, hangs, exits, throws in a timer: each fails with its reason; the pool stays up', async () => {
    const { daemon: d, queue: q } = await startPool({ queues: 'q', processor: fixture('bad-jobs.mjs'), concurrency: '1', 'min-workers': '2', 'max-workers': '2', 'job-timeout': '1', 'max-stalled-count': '1', 'start-seconds': '0.2' });
    await until(() => d.supervisor.runningCount() === 2, 'two workers running');
    await q.add('nobody-handles-this', {}, { jobId: 'no-handler' });
    await q.add('sum', { items: 'not a list' }, { jobId: 'bad-data' });
    await q.add('throws', {}, { jobId: 'throws', attempts: 3 });
    await q.add('hang', {}, { jobId: 'hang' });
    await q.add('exit', {}, { jobId: 'exit' });
    await q.add('timer-throw', {}, { jobId: 'timer-throw' });
    const ids = ['no-handler', 'bad-data', 'throws', 'hang', 'exit', 'timer-throw'];
    await until(async () => (await Promise.all(ids.map((id) => q.getJobState(id)))).every((s) => s === 'failed'), 'every bad job failed', 45_000, 200);
    const reasons = Object.fromEntries(await Promise.all(ids.map(async (id) => [id, (await q.getJob(id))!.failedReason] as const)));
    console.log(reasons);
    expect(reasons['no-handler']).toMatch(/no handler for job name "nobody-handles-this"/);
    expect(reasons['bad-data']).toMatch(/reduce is not a function/);
    expect(reasons['throws']).toBe('thrown on purpose');
    expect((await q.getJob('throws'))!.attemptsMade).toBe(3);
    expect(reasons['hang']).toMatch(/job timed out after 1 s/);
    expect(reasons['exit']).toMatch(/its worker died 2 times while running it/);
    expect(reasons['timer-throw']).toMatch(/its worker died 2 times while running it/);
    // The pool is still whole and working.
    await q.add('ok', {}, { jobId: 'ok' });
    await until(async () => (await q.getJobState('ok')) === 'completed', 'a good job completed afterwards');
    await until(() => d.supervisor.runningCount() === 2, 'two workers running again');
    expect(d.supervisor.fatalCount()).toBe(0);
    expect(d.healthy()).toBe(true);
  });
});
