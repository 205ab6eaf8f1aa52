#!/usr/bin/env node
// node bench/many-queues.mjs [--quick] (npm run bench runs it too)
// Issue 19: one load (40 jobs/s of 10 ms, spread at random over the queues) on 10, 100 and 500
// queues, for worker-pool (2 children × concurrency 5) and for plain BullMQ (one process with one
// Worker per queue, concurrency 1 each), interleaved. Prints waits (enqueue → active: p50, p95, max),
// worker CPU per job and Redis CPU per job, medians over the rounds. Uses dist/ and a private Redis.
import { fork, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../dist/config/load.js';
import { Daemon } from '../dist/daemon/daemon.js';
import { createLogger } from '../dist/logger.js';
import { startEmbeddedRedis } from '../dist/redis/embedded.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const QUICK = args.includes('--quick');
const ROUNDS = QUICK ? 1 : 5;
const SECONDS = QUICK ? 5 : 20;
const RATE = 40;
const COUNTS = [10, 100, 500];
const PROC = path.join(here, 'processors/io10.mjs');
const log = (...a) => console.error(...a);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const cpuSeconds = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
};

const redis = await startEmbeddedRedis();
const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
let seq = 0;

async function startPool(prefix, names) {
  const config = loadConfig({ env: {}, flags: { 'redis-url': redis.url, prefix, queues: names.join(','), processor: PROC, concurrency: 5, 'min-workers': 2, 'max-workers': 2, 'metrics-port': 0, 'log-level': 'silent', 'scaling-period': 60, window: 60 } });
  const daemon = new Daemon({ config, log: createLogger({ level: 'silent', pretty: false }) });
  const ready = new Promise((resolve) => daemon.supervisor.on('worker-ready', () => daemon.supervisor.runningCount() >= 2 && resolve()));
  await daemon.start();
  await ready;
  return { pids: () => daemon.supervisor.workers().map((w) => w.pid), stop: () => daemon.stop() };
}

async function startPlain(prefix, names) {
  const child = fork(path.join(here, 'plain-multi-worker.mjs'), [JSON.stringify({ redisUrl: redis.url, prefix, queues: names, concurrency: 1, processor: PROC })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve, reject) => { child.once('message', resolve); child.once('exit', (code) => reject(new Error(`baseline exited ${code}`))); });
  return { pids: () => [child.pid], stop: () => new Promise((resolve) => { child.once('exit', resolve); child.send({ type: 'close' }); }) };
}

const WARM_JOBS = QUICK ? 200 : 600;

/** Every one of these jobs done? (polls; the jobs come from this script's own Queue objects) */
async function allFinished(prefix, jobs) {
  for (;;) {
    const p = conn.pipeline();
    for (const [q, id] of jobs) p.hget(`${prefix}:${q.name}:${id}`, 'finishedOn');
    const res = await p.exec();
    if (res.every(([, v]) => v)) return;
    await sleep(100);
  }
}

const VARIANTS = { 'worker-pool': startPool, 'plain BullMQ': startPlain };

async function once(variant, n) {
  const prefix = `mq${++seq}`;
  const names = Array.from({ length: n }, (_, i) => `q${i}`);
  const queues = names.map((name) => new Queue(name, { connection: conn, prefix }));
  const handle = await VARIANTS[variant](prefix, names);
  // Warm up with the measured load's job kind over every queue (a long-running worker's code is
  // compiled; a cold one's first few hundred jobs cost several times more CPU), then let start-up
  // work (stalled checks, connections) settle.
  const warm = await Promise.all(Array.from({ length: WARM_JOBS }, (_, i) => queues[i % n].add('io', {}).then((j) => [queues[i % n], j.id])));
  await allFinished(prefix, warm);
  await sleep(1000);
  const pids = handle.pids();
  const cpu0 = pids.map(cpuSeconds);
  const redis0 = cpuSeconds(redis.pid);
  let s = 7 + seq;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const jobs = [];
  const total = RATE * SECONDS;
  const t0 = performance.now();
  for (let i = 0; i < total; i++) {
    const q = queues[Math.floor(rand() * n)];
    jobs.push([q, (await q.add('io', {})).id]);
    const next = t0 + ((i + 1) * 1000) / RATE;
    const ahead = next - performance.now();
    if (ahead > 0) await sleep(ahead);
  }
  await allFinished(prefix, jobs);
  const workerCpu = pids.reduce((a, pid, i) => a + cpuSeconds(pid) - cpu0[i], 0);
  const redisCpu = cpuSeconds(redis.pid) - redis0;
  const p = conn.pipeline();
  for (const [q, id] of jobs) p.hmget(`${prefix}:${q.name}:${id}`, 'timestamp', 'processedOn');
  const waits = (await p.exec()).map(([, [ts, on]]) => Number(on) - Number(ts)).sort((a, b) => a - b);
  await handle.stop();
  await Promise.all(queues.map((q) => q.obliterate({ force: true }).catch(() => undefined)));
  await Promise.all(queues.map((q) => q.close()));
  const at = (x) => waits[Math.min(waits.length - 1, Math.floor(x * waits.length))];
  return { p50: at(0.5), p95: at(0.95), max: waits.at(-1), workerUsPerJob: (workerCpu / total) * 1e6, redisUsPerJob: (redisCpu / total) * 1e6 };
}

const results = {};
const names = Object.keys(VARIANTS);
log(`many queues: ${COUNTS.join('/')} queues × ${names.length} variants × ${ROUNDS} rounds of ${SECONDS} s at ${RATE} jobs/s`);
for (let round = 0; round < ROUNDS; round++) {
  for (const [i, n] of COUNTS.entries()) {
    for (const v of names.map((_, j) => names[(j + round + i) % names.length])) {
      const r = await once(v, n);
      ((results[n] ??= {})[v] ??= []).push(r);
      log(`  round ${round + 1} ${n} queues ${v}: wait p50 ${r.p50} ms p95 ${r.p95} ms max ${r.max} ms; worker ${r.workerUsPerJob.toFixed(0)} µs/job, Redis ${r.redisUsPerJob.toFixed(0)} µs/job`);
    }
  }
}
await conn.quit();
await redis.stop();

const f = (x) => Math.round(x).toLocaleString('en-US');
const cell = (rs, k) => { const xs = rs.map((r) => r[k]); return `${f(median(xs))} (${f(Math.min(...xs))}–${f(Math.max(...xs))})`; };
const lines = ['| queues | variant | wait p50 ms | wait p95 ms | wait max ms | worker CPU µs/job | Redis CPU µs/job |', '| ---: | --- | ---: | ---: | ---: | ---: | ---: |'];
for (const n of COUNTS) for (const v of names) { const rs = results[n][v]; lines.push(`| ${n} | ${v} | ${cell(rs, 'p50')} | ${cell(rs, 'p95')} | ${cell(rs, 'max')} | ${cell(rs, 'workerUsPerJob')} | ${cell(rs, 'redisUsPerJob')} |`); }
const verdict = [];
const pool = (n, k) => median(results[n]['worker-pool'].map((r) => r[k]));
const plain = (n, k) => median(results[n]['plain BullMQ'].map((r) => r[k]));
const big = COUNTS.at(-1);
verdict.push(`- p95 wait at ${big} queues within 2× the 10-queue figure + 20 ms: **${pool(big, 'p95') <= 2 * pool(10, 'p95') + 20 ? 'met' : 'missed'}** (${f(pool(big, 'p95'))} vs ${f(pool(10, 'p95'))} ms)`);
verdict.push(`- max wait at ${big} queues under 1 s: **${pool(big, 'max') < 1000 ? 'met' : 'missed'}** (${f(pool(big, 'max'))} ms)`);
verdict.push(`- worker and Redis CPU per job at ${big} queues within 1.5× the 10-queue figures: **${pool(big, 'workerUsPerJob') <= 1.5 * pool(10, 'workerUsPerJob') && pool(big, 'redisUsPerJob') <= 1.5 * pool(10, 'redisUsPerJob') ? 'met' : 'missed'}** (worker ${(pool(big, 'workerUsPerJob') / pool(10, 'workerUsPerJob')).toFixed(2)}×, Redis ${(pool(big, 'redisUsPerJob') / pool(10, 'redisUsPerJob')).toFixed(2)}×)`);
verdict.push(`- better than plain BullMQ (one Worker per queue) on every figure at ${big} queues: **${['p50', 'p95', 'max', 'workerUsPerJob', 'redisUsPerJob'].every((k) => pool(big, k) <= plain(big, k)) ? 'met' : 'missed'}**`);
const load = os.loadavg().map((x) => x.toFixed(2)).join(' / ');
console.log(`\n${lines.join('\n')}\n\n${verdict.join('\n')}\n\nload average at the end ${load}`);
process.exit(0);
