/**
 * Issue 26, item 8: `worker-pool cancel` stays in its Redis database. Pub/sub channels are
 * server-wide, so a cancel sent for a job in database 0 also aborted the job with the same id that a
 * pool on database 1 of the same Redis was running. Two pools, one per database, each run a job
 * `same`; a cancel for database 0's must leave database 1's running, and a cancel sent there stops it.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Queue } from 'bullmq';
import { runCli } from '../helpers/cli.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { deletePrefix, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

function inDb(url: string, db: number): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

const started = (q: Queue, id: string) => until(async () => ((await q.getJob(id))?.progress === 'started' ? true : undefined), `job ${id} to start`);

describe('cancel across Redis databases', () => {
  const prefix = uniquePrefix('cancel-db');
  const urls = [inDb(redisUrl(), 0), inDb(redisUrl(), 1)];
  // The pools delete their keys from the run's database; database 1's are deleted here.
  afterAll(() => deletePrefix(prefix, urls[1]));

  it('a cancel for database 0 aborts only database 0\'s job', async () => {
    const queues: Queue[] = [];
    for (const url of urls) queues.push((await startPool({ 'redis-url': url, prefix, queues: 'signals', processor: fixture('parity/signal.mjs'), 'min-workers': 1, 'max-workers': 1 })).queue);
    const [q0, q1] = queues as [Queue, Queue];
    await q0.add('wait', {}, { jobId: 'same' });
    await q1.add('wait', {}, { jobId: 'same' });
    await started(q0, 'same');
    await started(q1, 'same');

    const cli = await runCli(['cancel', '--queue', 'signals', '--prefix', prefix, '--redis-url', urls[0]!, '--reason', 'for db 0', 'same']);
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/cancel sent to 1 worker/);
    await until(async () => (await q0.getJobState('same')) === 'failed', 'database 0\'s job to stop');
    expect((await q0.getJob('same'))!.failedReason).toBe('stopped: for db 0');

    // Database 1's job was not touched: the first abort it sees is the one sent to its own database.
    expect(await q1.getJobState('same')).toBe('active');
    const second = await runCli(['cancel', '--queue', 'signals', '--prefix', prefix, '--redis-url', urls[1]!, '--reason', 'for db 1', 'same']);
    expect(second.code, second.stdout + second.stderr).toBe(0);
    await until(async () => (await q1.getJobState('same')) === 'failed', 'database 1\'s job to stop');
    expect((await q1.getJob('same'))!.failedReason).toBe('stopped: for db 1');
    expect((await q1.getJobLogs('same')).logs).toEqual(['aborted: for db 1']);
  });
});
