/**
 * migrateJobs on the states the big test does not cover: prioritized jobs keep their priority and
 * order, logs follow the job, flow and job-scheduler jobs are left alone, a dry run moves nothing,
 * and a paused target queue gets no wake-up marker.
 */
import { FlowProducer, Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateJobs } from '../../src/migration/migrate.js';
import { client, deletePrefix, redisUrl, uniquePrefix } from '../helpers/redis.js';

describe('migrateJobs by state', () => {
  const prefix = uniquePrefix('mstates');
  let redis: Redis;
  const connection = () => ({ url: redisUrl(), maxRetriesPerRequest: null }) as never;
  const base = () => ({ client: redis, prefix, actualQueue: new Map([['Mail', 'fresh'], ['Other', 'old']]), queues: ['old', 'fresh'], batchSize: 7, batchPauseMs: 0, now: () => Date.now() });

  beforeAll(() => {
    redis = client();
  });
  afterAll(async () => {
    await deletePrefix(prefix);
    redis.disconnect();
  });

  it('moves prioritized and waiting jobs with their priority, order and logs; leaves flows and schedulers', async () => {
    const old = new Queue('old', { connection: connection(), prefix });
    const fresh = new Queue('fresh', { connection: connection(), prefix });
    await fresh.pause();
    const prio = await old.addBulk([3, 1, 2, 1, 3].map((priority, i) => ({ name: 'Mail', data: { i }, opts: { priority } })));
    const plain = await old.addBulk([0, 1, 2].map((i) => ({ name: 'Mail', data: { plain: i } })));
    await old.addBulk([{ name: 'Other', data: {} }]); // routed to "old": stays
    await prio[0]!.log('written before the move');
    await old.upsertJobScheduler('every-hour', { every: 3_600_000 }, { name: 'Mail', data: { scheduled: true } });
    const flows = new FlowProducer({ connection: connection(), prefix });
    await flows.add({ name: 'Mail', queueName: 'old', data: { parent: true }, children: [{ name: 'Mail', queueName: 'old', data: { child: true } }] });
    await flows.close();

    const dry = await migrateJobs({ ...base(), includeWaiting: true, dryRun: true });
    expect(dry.moves.get('old → fresh')?.get('prioritized')?.moved).toBe(5);
    expect(await redis.zcard(`${prefix}:old:prioritized`)).toBe(5);

    const report = await migrateJobs({ ...base(), includeWaiting: true, dryRun: false });
    const byState = report.moves.get('old → fresh')!;
    expect(byState.get('prioritized')!.moved).toBe(5);
    expect(byState.get('waiting')).toEqual({ moved: 3, gone: 0, kept: 2, renamed: 0 }); // kept: the flow's child and the scheduler's job
    expect(report.moves.size).toBe(1);

    // Same priorities, same order among equal priorities, logs along, nothing left behind but what must stay.
    expect(await redis.zrange(`${prefix}:fresh:prioritized`, '0', '-1')).toEqual([1, 3, 2, 0, 4].map((i) => prio[i]!.id));
    expect(await redis.hget(`${prefix}:fresh:${prio[4]!.id}`, 'priority')).toBe('3');
    expect(await redis.lrange(`${prefix}:fresh:${prio[0]!.id}:logs`, 0, -1)).toEqual(['written before the move']);
    expect(await redis.exists(`${prefix}:old:${prio[0]!.id}`, `${prefix}:old:${prio[0]!.id}:logs`)).toBe(0);
    expect(await redis.zcard(`${prefix}:old:prioritized`)).toBe(0);
    expect(await redis.llen(`${prefix}:old:wait`)).toBe(3);
    expect(await redis.lrange(`${prefix}:fresh:wait`, 0, -1)).toEqual([2, 1, 0].map((i) => plain[i]!.id));
    // The target queue is paused: no marker may wake its workers.
    expect(await redis.zscore(`${prefix}:fresh:marker`, '0')).toBeNull();

    // Once resumed, a worker runs them as BullMQ would have: waiting first, then by priority.
    await fresh.resume();
    const ran: string[] = [];
    const worker = new Worker('fresh', async (job) => void ran.push(job.data.plain !== undefined ? `plain${job.data.plain}` : `p${job.data.i}`), { connection: connection(), prefix, concurrency: 1 });
    await new Promise<void>((resolve) => worker.on('drained', () => resolve()));
    await worker.close();
    expect(ran).toEqual(['plain0', 'plain1', 'plain2', 'p1', 'p3', 'p2', 'p0', 'p4']);
    await old.close();
    await fresh.close();
  });
});
