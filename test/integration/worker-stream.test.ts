/**
 * One worker child on its own: strict queue order under a stream of short jobs, every job start and
 * end counted in the samples it sends the supervisor, and a drain in the middle of a busy stream that neither keeps nor
 * loses a job. A completion in the first queue takes the next job with it (BullMQ's fetchNext);
 * one in a later queue does not, so that the queues before it are looked at first.
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChildMessage, WorkerSettings } from '../../src/ipc/messages.js';
import { WORKER_ENTRY } from '../../src/supervisor/supervisor.js';
import { WorkerProcess } from '../../src/supervisor/worker-process.js';
import { client, deletePrefix, queue as makeQueue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { once, until } from '../helpers/wait.js';

const RECORD = fileURLToPath(new URL('../fixtures/record-order.mjs', import.meta.url));

/** Jobs started, and jobs ended (with `status` if given), as counted in the child's samples so far. */
function counted(messages: ChildMessage[], what: 'started' | 'ended', status?: 'completed' | 'failed'): number {
  let n = 0;
  for (const m of messages) {
    if (m.type !== 'sample' || !m.jobs) continue;
    for (const q of m.jobs) n += what === 'started' ? q.started : status === 'completed' ? q.completed : status === 'failed' ? q.failed : q.completed + q.failed;
  }
  return n;
}

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  cleanup = [];
});

function start(prefix: string, queues: string[], concurrency = 1): { worker: WorkerProcess; messages: ChildMessage[] } {
  const settings: Omit<WorkerSettings, 'tokenBase'> = { pool: 't', workerId: 'worker-1', redisUrl: redisUrl(), prefix, queues, processor: RECORD, concurrency, sampleIntervalMs: 1000, orphanTimeoutMs: 5000, logLevel: 'silent', logPretty: false, lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 2, jobTimeoutMs: 0, maxJobs: 0 };
  const worker = new WorkerProcess('worker-1', concurrency, settings, WORKER_ENTRY, () => performance.now());
  const messages: ChildMessage[] = [];
  worker.on('message', (m) => messages.push(m));
  cleanup.push(async () => {
    worker.kill('SIGKILL');
    await worker.exited();
  });
  return { worker, messages };
}

describe('worker child: order and drain under a stream of jobs', () => {
  it('keeps strict order: every high job before any low one, and a late high job jumps the low ones', async () => {
    const prefix = uniquePrefix('fetchnext');
    const list = `${prefix}:order`;
    const high = makeQueue('high', prefix);
    const low = makeQueue('low', prefix);
    const redis = client();
    cleanup.push(() => deletePrefix(prefix), () => high.close(), () => low.close(), async () => redis.disconnect());
    const data = (ms = 0) => ({ url: redisUrl(), list, ms });
    await low.addBulk(Array.from({ length: 30 }, (_, i) => ({ name: `l${i}`, data: data(i < 29 ? 20 : 0) })));
    await high.addBulk(Array.from({ length: 30 }, (_, i) => ({ name: `h${i}`, data: data() })));
    const { worker, messages } = start(prefix, ['high', 'low']);
    await once(worker, 'ready');
    // Once low jobs run, add one more high job: it must run next, before the remaining low jobs.
    await until(async () => (await redis.lrange(list, 0, -1)).some((x) => x.startsWith('low:')), 'a low job to start', 20_000, 5);
    await high.add('late', data());
    await until(async () => (await redis.llen(list)) === 61, 'all 61 jobs', 30_000);
    const order = await redis.lrange(list, 0, -1);
    expect(order.slice(0, 30).every((x) => x.startsWith('high:'))).toBe(true);
    const late = order.indexOf('high:late');
    const lowsBefore = order.slice(30, late).length;
    // The low job running (or being fetched) when "late" was added may finish first; no more than that.
    expect(lowsBefore, order.join(' ')).toBeLessThanOrEqual(2);
    // The processor records a job before it ends: wait for the sample that counts the last end.
    await until(() => counted(messages, 'ended', 'completed') === 61, '61 job ends in the samples', 10_000);
    expect(counted(messages, 'started')).toBe(61);
  });

  it('a drain during a stream of jobs loses nothing and keeps nothing: the rest wait in the queue', async () => {
    const prefix = uniquePrefix('fetchdrain');
    const list = `${prefix}:order`;
    const q = makeQueue('default', prefix);
    const redis = client();
    cleanup.push(() => deletePrefix(prefix), () => q.close(), async () => redis.disconnect());
    const total = 3000;
    await q.addBulk(Array.from({ length: total }, (_, i) => ({ name: `j${i}`, data: { url: redisUrl(), list }, opts: { removeOnComplete: true } })));
    const { worker, messages } = start(prefix, ['default'], 4);
    await once(worker, 'ready');
    await until(async () => (await redis.llen(list)) >= 200, '200 jobs done', 20_000, 5);
    worker.drain('scale_down');
    const [code] = await once<[number | null]>(worker, 'exit');
    expect(code).toBe(0);
    const counts = await q.getJobCounts('wait', 'active', 'completed', 'failed', 'delayed', 'prioritized');
    const done = await redis.llen(list);
    expect(counts.active).toBe(0);
    expect(counts.failed).toBe(0);
    expect(done).toBeLessThan(total);
    expect(done + counts.wait! + counts.prioritized!).toBe(total);
    await until(() => counted(messages, 'ended') >= done, 'every job end in the samples', 10_000);
    expect(counted(messages, 'started')).toBe(done);
    expect(counted(messages, 'ended')).toBe(done);
  });
});
