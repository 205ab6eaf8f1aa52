/**
 * Issue 26, item 10: a queue called `__proto__` is a queue like any other. The pool ran its jobs,
 * but /status and /metrics left it out: its record went into a plain object by assignment, which
 * set the object's prototype instead of a key.
 */
import { describe, expect, it } from 'vitest';
import { readStatus } from '../helpers/http-request.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

describe('a queue named __proto__', () => {
  it('is in /status and /metrics with its counts', async () => {
    const { daemon: d, queue: proto } = await startPool({ queues: '__proto__,plain', processor: fixture('handlers.mjs') });
    await proto.add('add', { a: 1, b: 2 });
    await until(async () => (await proto.getJobCounts('completed')).completed === 1, 'the job of __proto__ completed');

    const status = await readStatus(d.url);
    expect(Object.keys(status.queueCounts!).sort()).toEqual(['__proto__', 'plain']);
    expect(Object.hasOwn(status.queueCounts!, '__proto__')).toBe(true);
    expect(status.queueCounts!['__proto__']!.completed).toBe(1);
    expect(Object.keys(status.queueOldestAgeSeconds!).sort()).toEqual(['__proto__', 'plain']);

    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/worker_pool_queue_jobs\{queue="__proto__",state="completed",pool="default"\} 1/);
    expect(metrics).toMatch(/worker_pool_queue_oldest_job_age_seconds\{queue="__proto__",pool="default"\} 0/);
  });
});
