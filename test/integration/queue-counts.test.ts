/**
 * The queue probe and the metrics read from Redis at scrape time, on a real Redis: counts by
 * state agree with BullMQ's own, a paused queue's waiting jobs are reported as `paused`, the
 * oldest age comes from the head of the wait list or the first prioritized job, and with Redis
 * unreachable the queue series vanish and worker_pool_redis_up is 0.
 */
import { FlowProducer, Worker } from 'bullmq';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerQueueMetrics } from '../../src/observe/queue-metrics.js';
import { QueueCountsReader } from '../../src/redis/queue-counts.js';
import { freePort } from '../helpers/cli.js';
import { deletePrefix, queue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);
const BUILD = { version: '9.9.9', bullmq_version: 'x', node_version: 'y' };

describe('queue probe on a real Redis', () => {
  const prefix = uniquePrefix('probe');
  const q = () => queue('jobs', prefix);
  let probe: QueueCountsReader;

  beforeAll(async () => {
    // One completed and one failed job, run by a plain BullMQ worker.
    const jobs = q();
    await jobs.add('good', {});
    await jobs.add('bad', {});
    const worker = new Worker(
      'jobs',
      async (job) => {
        if (job.name === 'bad') throw new Error('bad');
      },
      { connection: { url: redisUrl(), maxRetriesPerRequest: null } as never, prefix },
    );
    await until(async () => {
      const c = await jobs.getJobCounts('completed', 'failed');
      return c.completed === 1 && c.failed === 1;
    }, 'one completed and one failed job');
    await worker.close();
    // Then jobs nobody takes: 3 waiting (the oldest enqueued 120 s before NOW), 2 delayed,
    // 2 prioritized (the first in line enqueued 300 s before NOW), 1 parent waiting for its child.
    await jobs.add('w', {}, { timestamp: NOW - 120_000 });
    await jobs.add('w', {}, { timestamp: NOW - 60_000 });
    await jobs.add('w', {}, { timestamp: NOW - 10_000 });
    await jobs.add('d', {}, { delay: 3_600_000 });
    await jobs.add('d', {}, { delay: 7_200_000 });
    await jobs.add('p', {}, { priority: 1, timestamp: NOW - 300_000 });
    await jobs.add('p', {}, { priority: 5, timestamp: NOW - 900_000 });
    await jobs.close();
    const flows = new FlowProducer({ connection: { url: redisUrl(), maxRetriesPerRequest: null } as never, prefix });
    await flows.add({ name: 'parent', queueName: 'jobs', children: [{ name: 'child', queueName: 'children', data: {} }] });
    await flows.close();
    probe = new QueueCountsReader(redisUrl(), prefix, ['jobs', 'empty'], 'probe-test', () => NOW);
  });

  afterAll(async () => {
    await probe?.close();
    await deletePrefix(prefix);
  });

  it('counts every state as BullMQ does, with no listing', async () => {
    const jobs = q();
    const bullmq = await jobs.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed');
    await jobs.close();
    const snap = await probe.snapshot();
    expect(snap['jobs']!.counts).toEqual({ ...bullmq, paused: 0 });
    expect(snap['jobs']!.counts).toMatchObject({ waiting: 3, delayed: 2, prioritized: 2, 'waiting-children': 1, completed: 1, failed: 1 });
    expect(snap['empty']!.counts).toEqual({ waiting: 0, active: 0, delayed: 0, prioritized: 0, 'waiting-children': 0, paused: 0, completed: 0, failed: 0 });
    expect(snap['empty']!.oldestAgeSeconds).toBe(0);
  });

  it('oldest age: the older of the wait-list head and the first prioritized job', async () => {
    // The first prioritized job (priority 1) waited 300 s; the 900 s one is behind it in line.
    expect((await probe.snapshot())['jobs']!.oldestAgeSeconds).toBe(300);
    const jobs = q();
    await jobs.add('w', {}, { timestamp: NOW - 1000_000, lifo: false });
    await jobs.close();
    // Appended at the back: the head (enqueued 120 s ago) still decides the wait list's age.
    expect((await probe.snapshot())['jobs']!.oldestAgeSeconds).toBe(300);
    const first = q();
    await first.add('w', {}, { priority: 1, timestamp: NOW - 400_000 });
    await first.close();
    // Same priority, added later: behind the 300 s job, so the age is unchanged.
    expect((await probe.snapshot())['jobs']!.oldestAgeSeconds).toBe(300);
  });

  it('a paused queue reports its waiting jobs as paused, and back as waiting when resumed', async () => {
    const jobs = q();
    const waiting = (await probe.snapshot())['jobs']!.counts.waiting;
    await jobs.pause();
    const paused = (await probe.snapshot())['jobs']!;
    expect(paused.paused).toBe(true);
    expect(paused.counts.waiting).toBe(0);
    expect(paused.counts.paused).toBe(waiting);
    expect(paused.counts.prioritized).toBe(3);
    await jobs.resume();
    const resumed = (await probe.snapshot())['jobs']!;
    await jobs.close();
    expect(resumed.paused).toBe(false);
    expect(resumed.counts).toMatchObject({ waiting, paused: 0 });
  });

  it('exports worker_pool_queue_jobs, oldest age, redis_up and build_info in one scrape', async () => {
    const registry = new Registry();
    registry.setDefaultLabels({ pool: 'p' });
    registerQueueMetrics(registry, probe, BUILD);
    const text = await registry.metrics();
    expect(text).toContain('worker_pool_queue_jobs{queue="jobs",state="delayed",pool="p"} 2');
    expect(text).toContain('worker_pool_queue_jobs{queue="empty",state="paused",pool="p"} 0');
    expect(text).toContain('worker_pool_queue_oldest_job_age_seconds{queue="jobs",pool="p"} 300');
    expect(text).toContain('worker_pool_redis_up{pool="p"} 1');
    expect(text).toContain('worker_pool_build_info{version="9.9.9",bullmq_version="x",node_version="y",pool="p"} 1');
    // 8 states × 2 queues
    expect(text.match(/^worker_pool_queue_jobs\{/gm)).toHaveLength(16);
  });

  it('with Redis unreachable: no queue series, redis_up 0, and the scrape still answers', async () => {
    const dead = new QueueCountsReader(`redis://127.0.0.1:${await freePort()}`, prefix, ['jobs'], 'dead');
    try {
      const registry = new Registry();
      registerQueueMetrics(registry, dead, BUILD);
      const text = await registry.metrics();
      expect(text).toContain('worker_pool_redis_up 0');
      expect(text).not.toMatch(/^worker_pool_queue_jobs\{/m);
      expect(text).not.toMatch(/^worker_pool_queue_oldest_job_age_seconds\{/m);
      expect(text).toContain('worker_pool_build_info{');
    } finally {
      await dead.close();
    }
  });
});
