/**
 * Issue 26, item 9: handing a dead worker's jobs back and keeping the running jobs' locks alive
 * cost what this pool runs, not what the queue holds. 200,000 other active jobs sit in the queue
 * (another pool's, or other hosts'); a worker is SIGKILLed while it runs a job. The Redis commands
 * the supervisor sends are counted on a Redis of the test's own (INFO commandstats): reading the
 * active jobs' locks (MGET) happens a bounded number of times, where reading every active job's
 * lock took 400 MGETs of 500 keys per hand-back and per lock-keeper round (every lock-duration / 3).
 */
import { Queue } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { fixture, startPool, type TestPool } from '../helpers/pool.js';
import { client, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const OTHERS = 200_000;
let redis: EmbeddedRedis | undefined;
let pool: TestPool | undefined;
let q: Queue | undefined;
afterEach(async () => {
  await pool?.stop();
  pool = undefined;
  await q?.close();
  q = undefined;
  await redis?.stop();
  redis = undefined;
});

/** Calls of one command since the last CONFIG RESETSTAT. */
async function calls(c: ReturnType<typeof client>, command: string): Promise<number> {
  const info = await c.info('commandstats');
  return Number(new RegExp(`^cmdstat_${command}:calls=(\\d+)`, 'm').exec(info)?.[1] ?? 0);
}

describe('hand-back and lock keeper with many active jobs', () => {
  it(`with ${OTHERS.toLocaleString('en')} other active jobs in the queue, a SIGKILLed worker's job is back at once and the supervisor reads a bounded number of locks`, { timeout: 90_000 }, async () => {
    redis = await startEmbeddedRedis();
    const prefix = uniquePrefix('active-scan');
    const c = client(redis.url);
    try {
      // Another pool's active jobs, newest first as BullMQ keeps them (their locks are elsewhere).
      for (let i = 0; i < OTHERS; i += 10_000) await c.lpush(`${prefix}:q:active`, ...Array.from({ length: 10_000 }, (_, k) => `other-${i + k}`));
      q = new Queue('q', { connection: { url: redis.url, maxRetriesPerRequest: null } as never, prefix });
      const lockS = 3;
      pool = await startPool({ 'redis-url': redis.url, prefix, queues: 'q', processor: fixture('record.mjs'), concurrency: '1', 'min-workers': '2', 'max-workers': '2', 'lock-duration': String(lockS), 'lease-seconds': '2', 'heartbeat-seconds': '0.5' }, { waitReady: false });
      const d = pool.daemon;
      await until(() => d.supervisor.runningCount() === 2, 'two workers running', 30_000);
      await q.add('long', { ms: 30_000, retryMs: 100 }, { jobId: 'long-1' });
      const lockKey = `${prefix}:q:long-1:lock`;
      const token = await until(() => c.get(lockKey), 'the job running', 10_000, 10);
      const holder = d.supervisor.workers().find((w) => token.startsWith(`${w.tokenBase}:`))!;
      // Its sample lists the job before it is killed (the newest-entries look covers one that does not).
      await until(() => holder.reported.jobs().some((j) => j.id === 'long-1'), 'the job reported in a sample', 5000, 10);
      await c.config('RESETSTAT');
      const t0 = performance.now();
      process.kill(holder.pid!, 'SIGKILL');
      await until(async () => {
        const l = await c.get(lockKey);
        return l !== token;
      }, 'the job no longer locked by the dead worker', 20_000, 5);
      const backMs = performance.now() - t0;
      const mgetAtReturn = await calls(c, 'mget');
      // Two lock-keeper rounds (every lock-duration / 3) later.
      await new Promise((r) => setTimeout(r, (2 * lockS * 1000) / 3 + 500));
      const mget = await calls(c, 'mget');
      const lrange = await calls(c, 'lrange');
      console.log(`${OTHERS} other active jobs: SIGKILLed worker's job back after ${backMs.toFixed(0)} ms; MGET calls at its return ${mgetAtReturn}, after two keeper rounds ${mget}; LRANGE calls ${lrange}`);
      // The hand-back reads the newest 1000 entries (2 MGETs); the keeper renews what children report (no MGET).
      expect(mgetAtReturn).toBeLessThanOrEqual(4);
      expect(mget).toBeLessThanOrEqual(4);
      await until(async () => (await q!.getJobState('long-1')) === 'completed', 'the job completed in the other worker', 20_000, 50);
    } finally {
      c.disconnect();
    }
  });
});
