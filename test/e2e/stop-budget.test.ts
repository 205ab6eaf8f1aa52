/**
 * A stop that fits the platform's budget (--stop-budget), as docker stop or Kubernetes give it: the
 * CLI, SIGTERM, jobs longer than the budget. The process exits by itself before the budget ends
 * (measured from the signal), short jobs finish, the long ones are back in waiting, nothing is lost;
 * and the same with the test's own Redis stopped (SIGSTOP: it holds connections and answers nothing,
 * where a BullMQ close() waits for ever) halfway through the stop, the jobs then coming back once
 * Redis answers again. About 25 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CliProcess } from '../helpers/cli.js';
import { fixture } from '../helpers/pool.js';
import { freeRigPort, rigNode, type RigNode } from '../helpers/redis-rig.js';
import { queue, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const BUDGET = 6;
let root: string;
let redis: RigNode;
let url: string;

beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'wp-stop-budget-'));
  redis = rigNode(root, 'redis', await freeRigPort(), []);
  await redis.start();
  url = `redis://127.0.0.1:${redis.port}`;
});

afterAll(async () => {
  redis.proc?.kill('SIGCONT');
  await redis.stop();
  rmSync(root, { recursive: true, force: true });
});

function pool(prefix: string, extra: string[] = []): CliProcess {
  return new CliProcess([
    '--redis-url', url, '--prefix', prefix, '--queues', 'q', '--processor', fixture('record.mjs'),
    '--min-workers', '2', '--max-workers', '2', '--concurrency', '3', '--metrics-port', '0', '--log-format', 'json',
    '--lock-duration', '4', '--lease-seconds', '2', '--stalled-interval', '1',
    ...extra,
  ]);
}

/** Four jobs far longer than the budget and two short ones, all running. */
async function busyPool(prefix: string) {
  const q = queue('q', prefix, url);
  const record = `${prefix}:runs`;
  const long = await Promise.all([1, 2, 3, 4].map((i) => q.add('long', { ms: 60_000, retryMs: 100, record, redis: url }, { jobId: `long-${i}` })));
  const short = await Promise.all([1, 2].map((i) => q.add('short', { ms: 1000, record, redis: url }, { jobId: `short-${i}` })));
  const p = pool(prefix, ['--stop-budget', String(BUDGET)]);
  await until(async () => (await q.getActiveCount()) === 6, 'all six jobs running', 30_000);
  return { q, p, record, longIds: long.map((j) => j.id!).sort(), shortIds: short.map((j) => j.id!).sort() };
}

describe('--stop-budget', () => {
  it('SIGTERM with jobs longer than the budget: exits by itself within it, short jobs done, the long ones back in waiting', async () => {
    const prefix = uniquePrefix('budget');
    const { q, p, record, longIds, shortIds } = await busyPool(prefix);
    const check = new Redis(url);
    try {
      const t0 = performance.now();
      p.kill('SIGTERM');
      const { code } = await p.exited;
      const ms = performance.now() - t0;
      console.log(`stop with a ${BUDGET} s budget: exited ${Math.round(ms)} ms after SIGTERM (code ${code})`);
      expect(ms).toBeLessThan(BUDGET * 1000);
      expect(code).toBe(1); // forced: jobs had to be handed back
      expect(p.logs.find((l) => l.msg === 'stopping: draining workers')).toMatchObject({ stopBudget: BUDGET, stopTimeout: BUDGET - 1 });
      // From Redis: the short jobs ran once to their end, the long ones wait, none is active or failed.
      expect((await q.getWaiting()).map((j) => j.id).sort()).toEqual(longIds);
      expect((await q.getCompleted()).map((j) => j.id).sort()).toEqual(shortIds);
      expect(await q.getActiveCount()).toBe(0);
      expect(await q.getFailedCount()).toBe(0);
      expect(await check.hgetall(record)).toEqual(Object.fromEntries(shortIds.map((id) => [id, '1'])));
    } finally {
      if (p.proc.exitCode === null) p.kill('SIGKILL');
      check.disconnect();
      await q.close();
    }
  }, 60_000);

  it('Redis stops answering halfway through the stop: still exits within the budget; once Redis is back every job runs to its end, once', async () => {
    const prefix = uniquePrefix('budget-redis');
    const { q, p, record, longIds, shortIds } = await busyPool(prefix);
    const check = new Redis(url);
    let next: CliProcess | undefined;
    try {
      const t0 = performance.now();
      p.kill('SIGTERM');
      // The short jobs finish during the drain; then Redis stops answering, before the hand-back.
      await until(async () => (await q.getCompletedCount()) === 2, 'the short jobs completed', 5000, 20);
      check.disconnect();
      redis.proc!.kill('SIGSTOP');
      const stoppedAt = performance.now() - t0;
      const { code } = await p.exited;
      const ms = performance.now() - t0;
      redis.proc!.kill('SIGCONT');
      console.log(`stop with a ${BUDGET} s budget, Redis stopped ${Math.round(stoppedAt)} ms in: exited ${Math.round(ms)} ms after SIGTERM (code ${code})`);
      expect(stoppedAt).toBeLessThan((BUDGET - 1 - 2.5) * 1000); // before the hand-back began
      expect(ms).toBeLessThan(BUDGET * 1000);
      expect(code).toBe(1);

      // Nothing lost: the long jobs are still in Redis, and a new daemon of the pool (a peer claiming
      // the lapsed registration, or the stalled check) runs each of them to its end.
      const counts = await q.getJobCounts('active', 'wait', 'failed');
      expect(counts['active']! + counts['wait']!).toBe(4);
      next = pool(prefix);
      await until(async () => (await q.getCompletedCount()) === 6, 'every job completed', 30_000);
      const c2 = new Redis(url);
      const runs = await c2.hgetall(record);
      c2.disconnect();
      expect(runs).toEqual(Object.fromEntries([...longIds, ...shortIds].map((id) => [id, '1'])));
      expect(await q.getFailedCount()).toBe(0);
    } finally {
      redis.proc?.kill('SIGCONT');
      if (p.proc.exitCode === null) p.kill('SIGKILL');
      if (next) {
        next.kill('SIGTERM');
        await next.exited;
      }
      check.disconnect();
      await q.close();
    }
  }, 90_000);
});
