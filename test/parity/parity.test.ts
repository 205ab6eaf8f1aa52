/**
 * Parity: a processor written for a plain BullMQ Worker behaves the same under worker-pool. Each
 * scenario runs the same module both ways and compares every job's final state, return value,
 * failed reason, attempts, progress, logs and the order jobs ended in.
 */
import { describe, expect, it } from 'vitest';
import type { Job } from 'bullmq';
import { runBoth, type RunOutcome, type Scenario, type ScenarioContext } from './harness.js';
import { until } from '../helpers/wait.js';

async function same(s: Scenario): Promise<RunOutcome> {
  const { plain, pool } = await runBoth(s);
  expect(plain.jobs.every((j) => j.timesInOrder), 'plain: timestamp ≤ processedOn ≤ finishedOn').toBe(true);
  expect(pool.jobs.every((j) => j.timesInOrder), 'pool: timestamp ≤ processedOn ≤ finishedOn').toBe(true);
  expect(pool.jobs).toEqual(plain.jobs);
  if (s.ordered) expect(pool.finishOrder).toEqual(plain.finishOrder);
  return pool;
}

const byKey = (r: RunOutcome, key: string) => r.jobs.find((j) => j.key === key);

async function startedJob(ctx: ScenarioContext, id: string): Promise<Job> {
  return until(async () => {
    const job = await ctx.queue.getJob(id);
    return job?.progress === 'started' ? job : undefined;
  }, `job ${id} to start`);
}

describe('parity with a plain BullMQ Worker', () => {
  it('retries with fixed and exponential back-off, and UnrecoverableError', async () => {
    const r = await same({
      module: 'patterns.mjs',
      finished: 4,
      add: async ({ queue }) => {
        await queue.add('flaky', { k: 'fixed', failTimes: 2 }, { attempts: 3, backoff: { type: 'fixed', delay: 30 } });
        await queue.add('flaky', { k: 'exponential', failTimes: 5 }, { attempts: 3, backoff: { type: 'exponential', delay: 20 } });
        await queue.add('unrecoverable', { k: 'u' }, { attempts: 3, backoff: { type: 'fixed', delay: 20 } });
        await queue.add('flaky', { k: 'once' }, {});
      },
    });
    expect(byKey(r, 'flaky:fixed')).toMatchObject({ state: 'completed', attemptsMade: 3, returnvalue: 'ok after 2 failures' });
    expect(byKey(r, 'flaky:exponential')).toMatchObject({ state: 'failed', attemptsMade: 3, failedReason: 'attempt 3 failed' });
    expect(byKey(r, 'unrecoverable:u')).toMatchObject({ state: 'failed', attemptsMade: 1, failedReason: 'bad input, do not retry' });
  });

  it('a custom back-off strategy and removeOnFail from the module\'s workerOptions', async () => {
    const r = await same({
      module: 'custom-backoff.mjs',
      finished: 2,
      add: async ({ queue }) => {
        await queue.add('job', { k: 'linear', failTimes: 2 }, { attempts: 4, backoff: { type: 'linear' } });
        await queue.add('job', { k: 'gives-up-first', failTimes: 9 }, { attempts: 1 });
        await queue.add('job', { k: 'gives-up', failTimes: 9 }, { attempts: 2, backoff: { type: 'other' } });
      },
    });
    expect(byKey(r, 'job:linear')).toMatchObject({ state: 'completed', attemptsMade: 3 });
    expect(byKey(r, 'job:gives-up')).toMatchObject({ state: 'failed', attemptsMade: 2 });
    // removeOnFail: { count: 1 } keeps only the last failed job.
    expect(byKey(r, 'job:gives-up-first')).toBeUndefined();
  });

  it('step jobs that move themselves to delayed (DelayedError) or back to wait (WaitingError), and the jobs after them', async () => {
    const r = await same({
      module: 'patterns.mjs',
      finished: 6,
      add: async ({ queue }) => {
        await queue.add('requeue', { k: 'r1' });
        await queue.add('step', { k: 's1' });
        await queue.add('step', { k: 's2' });
        await queue.add('ok', { k: 'delayed' }, { delay: 100 });
        await queue.add('ok', { k: 'after', n: 3 });
        await queue.add('ok', { k: 'after2', n: 4 });
      },
    });
    expect(byKey(r, 'step:s1')).toMatchObject({ state: 'completed', returnvalue: 'finished at step 2', failedReason: undefined });
    expect(byKey(r, 'requeue:r1')).toMatchObject({ state: 'completed', returnvalue: 'ran after going back to wait', failedReason: undefined });
  });

  it('flows: FlowProducer children, failParentOnFailure, ignoreDependencyOnFailure', async () => {
    const r = await same({
      module: 'patterns.mjs',
      finished: 8,
      ordered: true,
      add: async ({ flow, queue }) => {
        const q = queue.name;
        await flow.add({ name: 'parent', queueName: q, data: { k: 'p-ok' }, children: [{ name: 'ok', queueName: q, data: { k: 'c1' } }, { name: 'ok', queueName: q, data: { k: 'c2' } }] });
        await flow.add({ name: 'parent', queueName: q, data: { k: 'p-fail' }, children: [{ name: 'fail', queueName: q, data: { k: 'c3' }, opts: { failParentOnFailure: true } }, { name: 'ok', queueName: q, data: { k: 'c4' } }] });
        await flow.add({ name: 'parent', queueName: q, data: { k: 'p-ignore' }, children: [{ name: 'fail', queueName: q, data: { k: 'c5' }, opts: { ignoreDependencyOnFailure: true } }] });
      },
    });
    expect(byKey(r, 'parent:p-ok')).toMatchObject({ state: 'completed', returnvalue: { children: ['c1', 'c2'], ignored: 0 } });
    expect(byKey(r, 'parent:p-fail')?.state).toBe('failed');
    expect(byKey(r, 'parent:p-ignore')).toMatchObject({ state: 'completed', returnvalue: { children: [], ignored: 1 } });
  });

  it('children added at run time, waited for with WaitingChildrenError', async () => {
    const r = await same({
      module: 'patterns.mjs',
      finished: 5,
      ordered: true,
      add: async ({ queue, base }) => {
        await queue.add('spawner', { ...base, k: 'sp1' });
        await queue.add('spawner', { ...base, k: 'sp2' });
        await queue.add('ok', { k: 'tail' });
      },
    });
    expect(byKey(r, 'spawner:sp1')).toMatchObject({ state: 'completed', returnvalue: [42], failedReason: undefined });
  });

  it('manual rate limiting: worker.rateLimit + Worker.RateLimitError puts the job back and pauses the queue', async () => {
    const { plain, pool } = await runBoth({
      module: 'patterns.mjs',
      finished: 3,
      add: async ({ queue }) => {
        await queue.add('limited', { k: 'l1' });
        await queue.add('ok', { k: 'o1' });
        await queue.add('ok', { k: 'o2' });
      },
    });
    expect(pool.jobs).toEqual(plain.jobs);
    for (const r of [plain, pool]) {
      expect(byKey(r, 'limited:l1')).toMatchObject({ state: 'completed', returnvalue: 'ran after the rate limit', attemptsMade: 1, attemptsStarted: 2, failedReason: undefined });
      // Nothing of the queue starts before the limit's TTL (300 ms) has passed (Redis enforces it; 250: clock slack).
      const limitedAt = r.runs['limited:l1']!.data['limitedAt'] as number;
      for (const key of ['limited:l1', 'ok:o1', 'ok:o2']) expect(r.runs[key]!.processedOn! - limitedAt, key).toBeGreaterThanOrEqual(250);
    }
  });

  it('maxStartedAttempts: a job started once too often fails unrun', async () => {
    const r = await same({
      module: 'max-started.mjs',
      finished: 2,
      add: async ({ queue }) => {
        await queue.add('limited', { k: 'l1' });
        await queue.add('ok', { k: 'o1' });
      },
    });
    expect(byKey(r, 'limited:l1')).toMatchObject({ state: 'failed', failedReason: 'job started more than allowable limit' });
  });

  it('the limiter option: at most max jobs start per duration', async () => {
    const r = await same({
      module: 'limiter.mjs',
      finished: 5,
      add: async ({ queue }) => {
        for (let i = 1; i <= 5; i++) await queue.add('job', { k: `j${i}` });
      },
    });
    // Redis enforces the window: job i+2 cannot start within the window job i started in.
    for (let i = 0; i + 2 < r.processedOn.length; i++) expect(r.processedOn[i + 2]! - r.processedOn[i]!).toBeGreaterThan(100);
  });

  it('job schedulers and repeatable jobs', async () => {
    const r = await same({
      module: 'patterns.mjs',
      finished: 3,
      add: async ({ queue }) => {
        await queue.upsertJobScheduler('every-100ms', { every: 100, limit: 3 }, { name: 'tick', data: { k: 'sched' } });
      },
    });
    expect(r.jobs.filter((j) => j.key.startsWith('tick:sched') && j.state === 'completed')).toHaveLength(3);
  });

  it('deduplication, priorities and LIFO', async () => {
    const r = await same({
      module: 'patterns.mjs',
      finished: 6,
      ordered: true,
      add: async ({ queue }) => {
        for (let i = 0; i < 3; i++) await queue.add('ok', { k: 'dedup' }, { deduplication: { id: 'same' } });
        await queue.add('ok', { k: 'fifo1' });
        await queue.add('ok', { k: 'fifo2' });
        await queue.add('ok', { k: 'lifo' }, { lifo: true });
        await queue.add('ok', { k: 'prio3' }, { priority: 3 });
        await queue.add('ok', { k: 'prio1' }, { priority: 1 });
      },
    });
    expect(r.jobs.filter((j) => j.key.startsWith('ok:dedup'))).toHaveLength(1);
    expect(r.finishOrder[0]).toBe('ok:lifo');
    expect(r.finishOrder.indexOf('ok:prio1')).toBeLessThan(r.finishOrder.indexOf('ok:prio3'));
  });

  it('updateProgress, log and extendLock(token)', async () => {
    const r = await same({
      module: 'patterns.mjs',
      finished: 2,
      ordered: true,
      add: async ({ queue }) => {
        await queue.add('progress', { k: 'p' });
        await queue.add('extend', { k: 'e' });
      },
    });
    expect(byKey(r, 'progress:p')).toMatchObject({ progress: { pct: 100, note: 'done' }, logs: ['half way', 'done'] });
    expect(byKey(r, 'extend:e')).toMatchObject({ state: 'completed', returnvalue: { extended: 1 } });
  });

  it('cancellation: the running job\'s signal aborts (worker.cancelJob / worker-pool cancel)', async () => {
    const r = await same({
      module: 'patterns.mjs',
      finished: 2,
      add: async ({ queue }) => {
        await queue.add('cancellable', { k: 'c' }, { jobId: 'to-cancel', attempts: 2 });
        await queue.add('ok', { k: 'next' });
      },
      during: async (ctx) => {
        await startedJob(ctx, 'to-cancel');
        await ctx.cancel('to-cancel', 'user asked');
      },
    });
    expect(byKey(r, 'cancellable:c')).toMatchObject({ state: 'failed', attemptsMade: 1, failedReason: 'cancelled: user asked' });
  });

  it('telemetry: BullMQ\'s spans (bullmq-otel) are made in the worker, as under a plain Worker', async () => {
    const r = await same({
      module: 'telemetry.mjs',
      finished: 3,
      ordered: true,
      add: async ({ queue }) => {
        await queue.add('work', { k: 'w1' });
        await queue.add('work', { k: 'w2' });
        await queue.add('spans', { k: 'spans' });
      },
    });
    const spans = byKey(r, 'spans:spans')!.returnvalue as Array<{ name: string; kind: number; jobId: string | null }>;
    // SpanKind.CONSUMER is 4 in OpenTelemetry.
    expect(spans.filter((s) => s.name === 'process parity' && s.kind === 4).map((s) => s.jobId)).toEqual(['1', '2']);
    expect(spans.filter((s) => s.name === 'complete parity')).toHaveLength(2);
  });
});
