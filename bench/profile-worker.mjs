#!/usr/bin/env node
// Profile one worker child's job loop in-process (no fork), for `node --cpu-prof bench/profile-worker.mjs`.
// Env: N jobs (default 20000), C concurrency (default 1), MODE=pool|plain (plain: a BullMQ Worker).
// Prints jobs/s of the run; compare MODE=pool with MODE=plain in the same minute.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { startEmbeddedRedis } from '../dist/redis/embedded.js';
import { WorkerRuntime } from '../dist/worker/run-worker.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const N = Number(process.env.N ?? 20000);
const C = Number(process.env.C ?? 1);
const MODE = process.env.MODE ?? 'pool';
const redis = await startEmbeddedRedis();
const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
const q = new Queue('p', { connection: conn, prefix: 'b' });
for (let i = 0; i < N; i += 1000) await q.addBulk(Array.from({ length: Math.min(1000, N - i) }, () => ({ name: 'j', data: {}, opts: { removeOnComplete: true } })));
let done = 0;
let t0 = 0;
let cpu0 = process.cpuUsage();
const finish = async () => {
  const cpu = process.cpuUsage(cpu0);
  console.log(`${MODE} c${C}: ${(N / ((performance.now() - t0) / 1000)).toFixed(0)} jobs/s, this process ${((cpu.user + cpu.system) / N).toFixed(1)} µs CPU per job`);
  await redis.stop();
  process.exit(0);
};
if (MODE === 'plain') {
  const processor = (await import(path.join(here, 'processors/noop.mjs'))).default;
  const w = new Worker('p', processor, { connection: new Redis(redis.url, { maxRetriesPerRequest: null }), prefix: 'b', concurrency: C, autorun: false });
  w.on('completed', () => ++done === N && void finish());
  await w.waitUntilReady();
  t0 = performance.now();
  cpu0 = process.cpuUsage();
  void w.run();
} else {
  const settings = { pool: 'p', workerId: 'w', tokenBase: 'profile', redisUrl: redis.url, prefix: 'b', queues: ['p'], processor: path.join(here, 'processors/noop.mjs'), concurrency: C, sampleIntervalMs: 1000, orphanTimeoutMs: 1000, logLevel: 'silent', logPretty: false, lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 2, jobTimeoutMs: 0, maxJobs: 0 };
  const port = { send: (m) => { if (m.type === 'ready') (t0 = performance.now()), (cpu0 = process.cpuUsage()); if (m.type === 'sample') for (const q of m.jobs ?? []) if ((done += q.completed + q.failed) === N) void finish(); } };
  await new WorkerRuntime(settings, port, () => undefined).start();
}
