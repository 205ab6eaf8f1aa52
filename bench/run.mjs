#!/usr/bin/env node
// npm run bench [-- --write] [-- --quick]
// worker-pool against plain BullMQ Worker processes and BullMQ sandboxed processors, measured in the
// same run, interleaved (every round runs each variant once per row, in a rotating order). Uses the
// compiled code in dist/ and a private redis-server. --write regenerates docs/benchmarks.md.
import { fork, spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig } from '../dist/config/load.js';
import { Daemon } from '../dist/daemon/daemon.js';
import { createLogger } from '../dist/logger.js';
import { freePort, startEmbeddedRedis } from '../dist/redis/embedded.js';
import { WORKER_ENTRY } from '../dist/supervisor/supervisor.js';
import { WorkerProcess } from '../dist/supervisor/worker-process.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const args = process.argv.slice(2);
const WRITE = args.includes('--write');
const QUICK = args.includes('--quick');
const RUNS = QUICK ? 1 : 5;
const SECONDS = QUICK ? 0.5 : 1.5; // target length of one timed drain of the queue
const PROC = { noop: path.join(here, 'processors/noop.mjs'), io10: path.join(here, 'processors/io10.mjs'), cpu5: path.join(here, 'processors/cpu5.mjs'), sleep: path.join(here, 'processors/sleep.mjs') };
const KIND = { noop: 'no-op', io10: '10 ms I/O', cpu5: '5 ms CPU (hashing)' };
const silent = createLogger({ level: 'silent', pretty: false });
const loadStart = os.loadavg();
const startedAt = new Date();

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const redis = await startEmbeddedRedis();
const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
const prefix = 'bench';
let queueSeq = 0;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const log = (...a) => console.error(...a);

// ---------- variants ----------

// The daemon runs as `worker-pool` would be run (its own process), so its CPU is measured apart
// from this script's and from its children's.
async function startPool({ queue, children, concurrency, processor, minWorkers = children }) {
  const port = await freePort();
  const args = [path.join(root, 'bin/worker-pool'), '--processor', processor, '--concurrency', String(concurrency), '--min-workers', String(minWorkers), '--max-workers', String(children), '--redis-url', redis.url, '--prefix', prefix, '--queues', queue, '--metrics-port', String(port), '--log-level', 'warn', '--stop-timeout', '10'];
  const sup = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => sup.once('exit', resolve));
  let status;
  for (;;) {
    status = await fetch(`http://127.0.0.1:${port}/status`).then((r) => r.json()).catch(() => undefined);
    if (status && status.runningWorkers >= minWorkers) break;
    if (sup.exitCode !== null) throw new Error(`worker-pool exited ${sup.exitCode}`);
    await sleep(50);
  }
  return {
    pids: async () => {
      const st = await fetch(`http://127.0.0.1:${port}/status`).then((r) => r.json());
      return { supervisor: sup.pid, children: st.workers.map((w) => w.pid) };
    },
    status: () => fetch(`http://127.0.0.1:${port}/status`).then((r) => r.json()),
    stop: async () => { sup.kill('SIGTERM'); await exited; },
  };
}

async function startPlain({ queue, children, concurrency, processor }, sandboxed) {
  const procs = [];
  for (let i = 0; i < children; i++) {
    const child = fork(path.join(here, 'plain-worker.mjs'), [JSON.stringify({ redisUrl: redis.url, prefix, queue, concurrency, processor, sandboxed })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: sandboxed ? ['--no-warnings'] : [] });
    procs.push(child);
  }
  await Promise.all(procs.map((c) => new Promise((resolve, reject) => { c.once('message', resolve); c.once('exit', (code) => reject(new Error(`baseline worker exited ${code}`))); })));
  return {
    pids: async () => ({ supervisor: undefined, children: procs.map((c) => c.pid) }),
    stop: () => Promise.all(procs.map((c) => new Promise((resolve) => { if (c.exitCode !== null) return resolve(); c.once('exit', resolve); c.send({ type: 'close' }); }))),
  };
}

const VARIANTS = {
  'worker-pool': (o) => startPool(o),
  'plain BullMQ': (o) => startPlain(o, false),
  'BullMQ sandboxed': (o) => startPlain(o, true),
};

// ---------- throughput ----------

async function fill(q, n, name = 'job', data = {}) {
  for (let i = 0; i < n; i += 1000) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 1000); j++) batch.push({ name, data, opts: { removeOnComplete: true, removeOnFail: true } });
    await q.addBulk(batch);
  }
}

async function drained(queue) {
  const k = (s) => `${prefix}:${queue}:${s}`;
  for (;;) {
    const res = await conn.multi().llen(k('wait')).llen(k('active')).llen(k('paused')).zcard(k('prioritized')).exec();
    if (res.every(([, n]) => n === 0)) return;
    await sleep(5);
  }
}

function jobsFor(kind, concurrency, children) {
  const perS = kind === 'noop' ? (concurrency === 1 ? 4000 : 15000) : kind === 'cpu5' ? 180 * Math.min(children, 2) : Math.min(8000, 95 * concurrency * children);
  return Math.max(200, Math.round(perS * SECONDS));
}

async function throughputOnce(variant, row) {
  const queue = `tp-${++queueSeq}`;
  const q = new Queue(queue, { connection: conn, prefix });
  const opts = { queue, children: row.children, concurrency: row.concurrency, processor: PROC[row.kind] };
  const handle = await VARIANTS[variant](opts);
  // Warm up (sandboxed children fork lazily, code paths get compiled), then time a full queue.
  await fill(q, row.children * row.concurrency * 4);
  await drained(queue);
  await q.pause();
  const n = jobsFor(row.kind, row.concurrency, row.children);
  await fill(q, n);
  const pids = await handle.pids();
  const cpu0 = { sup: pids.supervisor ? cpuTicks(pids.supervisor) : 0, children: pids.children.map(cpuTicks), redis: cpuTicks(redis.pid) };
  const t0 = performance.now();
  await q.resume();
  await drained(queue);
  const seconds = (performance.now() - t0) / 1000;
  // CPU seconds over the timed drain, per job.
  const perJob = (ticks) => ticks / CLK_TCK / n;
  const cpu = {
    supervisor: pids.supervisor ? perJob(cpuTicks(pids.supervisor) - cpu0.sup) : undefined,
    children: perJob(pids.children.reduce((a, pid, i) => a + cpuTicks(pid) - cpu0.children[i], 0)),
    redis: perJob(cpuTicks(redis.pid) - cpu0.redis),
  };
  await handle.stop();
  await q.obliterate({ force: true }).catch(() => undefined);
  await q.close();
  return { rate: n / seconds, cpu };
}

const rows = [];
for (const kind of ['noop', 'io10']) for (const concurrency of [1, 10, 50]) for (const children of [1, 2]) rows.push({ kind, concurrency, children, results: {}, cpu: {} });
for (const children of [1, 2]) rows.push({ kind: 'cpu5', concurrency: 1, children, results: {}, cpu: {} });

log(`throughput: ${rows.length} rows × ${Object.keys(VARIANTS).length} variants × ${RUNS} rounds`);
const names = Object.keys(VARIANTS);
for (let round = 0; round < RUNS; round++) {
  for (const [i, row] of rows.entries()) {
    const order = names.map((_, j) => names[(j + round + i) % names.length]);
    for (const v of order) {
      const { rate, cpu } = await throughputOnce(v, row);
      (row.results[v] ??= []).push(rate);
      (row.cpu[v] ??= []).push(cpu);
      log(`  round ${round + 1} ${row.kind} c${row.concurrency} ×${row.children} ${v}: ${rate.toFixed(0)} jobs/s`);
    }
  }
}

// ---------- spawn to ready ----------

function baseSettings(processor, queue) {
  return { pool: 'bench', workerId: 'worker-1', redisUrl: redis.url, prefix, queues: [queue], processor, concurrency: 1, sampleIntervalMs: 1000, orphanTimeoutMs: 5000, logLevel: 'silent', logPretty: false, lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 2, jobTimeoutMs: 0, maxJobs: 0 };
}

async function poolChildReady() {
  const t0 = performance.now();
  const w = new WorkerProcess('worker-1', 1, baseSettings(PROC.noop, 'spawn'), WORKER_ENTRY, () => performance.now());
  await new Promise((resolve) => w.once('ready', resolve));
  const ms = performance.now() - t0;
  w.drain('scale_down');
  await w.exited();
  return ms;
}

async function bareReady() {
  const t0 = performance.now();
  const c = fork(path.join(here, 'bare-ready.mjs'), [JSON.stringify({ redisUrl: redis.url, prefix, queue: 'spawn' })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve) => c.once('message', resolve));
  const ms = performance.now() - t0;
  const exited = new Promise((resolve) => c.once('exit', resolve));
  c.send({ type: 'close' });
  await exited;
  return ms;
}

log('spawn to ready: 20 of each, interleaved');
const spawnPool = [];
const spawnBare = [];
for (let i = 0; i < (QUICK ? 5 : 20); i++) {
  if (i % 2) { spawnPool.push(await poolChildReady()); spawnBare.push(await bareReady()); }
  else { spawnBare.push(await bareReady()); spawnPool.push(await poolChildReady()); }
}

// ---------- drain ----------

log('drain: idle and with one 2 s job, 5 of each');
const drainIdle = [];
const drainBusy = [];
const drainAfterJob = [];
for (let i = 0; i < (QUICK ? 2 : 5); i++) {
  const queue = `drain-${i}`;
  let w = new WorkerProcess('worker-1', 1, baseSettings(PROC.sleep, queue), WORKER_ENTRY, () => performance.now());
  await new Promise((resolve) => w.once('ready', resolve));
  let t0 = performance.now();
  w.drain('scale_down');
  await w.exited();
  drainIdle.push(performance.now() - t0);

  w = new WorkerProcess('worker-1', 1, baseSettings(PROC.sleep, queue), WORKER_ENTRY, () => performance.now());
  await new Promise((resolve) => w.once('ready', resolve));
  const q = new Queue(queue, { connection: conn, prefix });
  // The child sends no message per job: its samples (one within 20 ms of a start or end) tell.
  const started = new Promise((resolve) => w.on('message', (m) => m.type === 'sample' && m.busySlots > 0 && resolve()));
  let jobEnd = 0;
  w.on('message', (m) => { if (m.type === 'sample' && m.jobs?.some((j) => j.completed > 0)) jobEnd = performance.now(); });
  await q.add('sleep', { ms: 2000 }, { removeOnComplete: true });
  await started;
  t0 = performance.now();
  w.drain('scale_down');
  await w.exited();
  drainBusy.push(performance.now() - t0);
  drainAfterJob.push(performance.now() - jobEnd);
  await q.close();
}

// ---------- arrival → active ----------

// A job added to an idle pool: at zero workers (the supervisor watches the queues' markers and
// decides at once), at min-workers 1 (an idle child blocked on the markers), and a plain Worker.
const ARRIVAL = { 'worker-pool at zero (--min-workers 0)': 'zero', 'worker-pool at --min-workers 1': 'min1', 'plain BullMQ Worker': 'plain' };
async function arrivalOnce(kind) {
  const queue = `arrive-${++queueSeq}`;
  const q = new Queue(queue, { connection: conn, prefix });
  const opts = { queue, children: 1, concurrency: 1, processor: PROC.noop };
  const handle = kind === 'plain' ? await startPlain(opts, false) : await startPool({ ...opts, minWorkers: kind === 'zero' ? 0 : 1 });
  await sleep(1500); // idle for a moment (at zero: past start-up, no worker)
  const job = await q.add('j', {});
  let j;
  for (;;) {
    j = await q.getJob(job.id);
    if (j?.finishedOn) break;
    await sleep(5);
  }
  await handle.stop();
  await q.obliterate({ force: true }).catch(() => undefined);
  await q.close();
  return j.processedOn - j.timestamp;
}
const arrivals = Object.fromEntries(Object.keys(ARRIVAL).map((k) => [k, []]));
log(`arrival → active: ${QUICK ? 2 : 5} of each, interleaved`);
for (let i = 0; i < (QUICK ? 2 : 5); i++) {
  const names = Object.keys(ARRIVAL);
  for (const name of names.map((_, j) => names[(j + i) % names.length])) arrivals[name].push(await arrivalOnce(ARRIVAL[name]));
}

// ---------- footprint ----------

function cpuTicks(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]); // utime + stime
}
function rssMb(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

log(`footprint: a supervisor with 4 idle children for ${QUICK ? 5 : 30} s`);
const port = await freePort();
const sup = spawn(process.execPath, [path.join(root, 'bin/worker-pool'), '--processor', PROC.noop, '--min-workers', '4', '--max-workers', '4', '--redis-url', redis.url, '--prefix', prefix, '--queues', 'idle', '--metrics-port', String(port), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
let status;
for (;;) {
  status = await fetch(`http://127.0.0.1:${port}/status`).then((r) => r.json()).catch(() => undefined);
  if (status?.runningWorkers === 4) break;
  await sleep(100);
}
await sleep(2000);
const idleSeconds = QUICK ? 5 : 30;
const c0 = cpuTicks(sup.pid);
const w0 = performance.now();
await sleep(idleSeconds * 1000);
const supCpu = (cpuTicks(sup.pid) - c0) / CLK_TCK / ((performance.now() - w0) / 1000);
const supRss = rssMb(sup.pid);
const childRss = median(status.workers.map((w) => rssMb(w.pid)));
const supExit = new Promise((resolve) => sup.once('exit', resolve));
sup.kill('SIGTERM');
await supExit;
const plain = fork(path.join(here, 'plain-worker.mjs'), [JSON.stringify({ redisUrl: redis.url, prefix, queue: 'idle', concurrency: 1, processor: PROC.noop, sandboxed: false })], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
await new Promise((resolve) => plain.once('message', resolve));
await sleep(2000);
const plainRss = rssMb(plain.pid);
plain.send({ type: 'close' });
await new Promise((resolve) => plain.once('exit', resolve));

await conn.quit();
await redis.stop();

// ---------- many queues (issue 19), its own script and Redis ----------

log('many queues: bench/many-queues.mjs');
const manyQueues = execFileSync(process.execPath, [path.join(here, 'many-queues.mjs'), ...(QUICK ? ['--quick'] : [])], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 }).trim();
const loadEnd = os.loadavg();

// ---------- report ----------

const f0 = (x) => Math.round(x).toLocaleString('en-US');
const r2 = (x) => x.toFixed(2);
const out = [];
const verdicts = [];
out.push('| job | concurrency | children | worker-pool jobs/s (min–max) | plain BullMQ jobs/s (min–max) | sandboxed jobs/s (min–max) | pool ÷ plain | pool ÷ sandboxed |');
out.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
let worstPlain = Infinity;
let sandboxC10 = Infinity;
for (const row of rows) {
  const cell = (v) => { const xs = row.results[v]; return `${f0(median(xs))} (${f0(Math.min(...xs))}–${f0(Math.max(...xs))})`; };
  const pool = median(row.results['worker-pool']);
  const vsPlain = pool / median(row.results['plain BullMQ']);
  const vsSandbox = pool / median(row.results['BullMQ sandboxed']);
  worstPlain = Math.min(worstPlain, vsPlain);
  if (row.concurrency === 10) sandboxC10 = Math.min(sandboxC10, vsSandbox);
  out.push(`| ${KIND[row.kind]} | ${row.concurrency} | ${row.children} | ${cell('worker-pool')} | ${cell('plain BullMQ')} | ${cell('BullMQ sandboxed')} | ${r2(vsPlain)}× | ${r2(vsSandbox)}× |`);
}
const throughputTable = out.join('\n');

// CPU per job over the timed drains (medians over the rounds): the supervisor's, the children's and
// Redis', for worker-pool and plain BullMQ side by side.
const cpuMedian = (row, v, k) => median(row.cpu[v].map((c) => c[k]));
const us = (x) => (x * 1e6).toFixed(1);
const ms1000 = (x) => (x * 1e6).toFixed(0); // seconds per job → ms per 1,000 jobs
const cpuLines = [
  '| job | concurrency | children | supervisor µs/job | pool children ms/1,000 jobs | pool Redis ms/1,000 jobs | plain children ms/1,000 jobs | plain Redis ms/1,000 jobs |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];
let supWorst = 0;
let supAtTop = { rate: 0, us: 0 };
for (const row of rows) {
  const sup = cpuMedian(row, 'worker-pool', 'supervisor');
  supWorst = Math.max(supWorst, sup);
  const rate = median(row.results['worker-pool']);
  if (row.kind === 'noop' && rate > supAtTop.rate) supAtTop = { rate, us: sup * 1e6 };
  cpuLines.push(`| ${KIND[row.kind]} | ${row.concurrency} | ${row.children} | ${us(sup)} | ${ms1000(cpuMedian(row, 'worker-pool', 'children'))} | ${ms1000(cpuMedian(row, 'worker-pool', 'redis'))} | ${ms1000(cpuMedian(row, 'plain BullMQ', 'children'))} | ${ms1000(cpuMedian(row, 'plain BullMQ', 'redis'))} |`);
}
const cpuTable = cpuLines.join('\n');
const arrivalLines = ['| arrival → active (enqueue to processedOn) | median | min–max |', '| --- | ---: | ---: |'];
for (const [name, xs] of Object.entries(arrivals)) arrivalLines.push(`| ${name} | ${f0(median(xs))} ms | ${f0(Math.min(...xs))}–${f0(Math.max(...xs))} ms |`);
const arrivalTable = arrivalLines.join('\n');
const zeroArrival = median(arrivals['worker-pool at zero (--min-workers 0)']);
const spawnRatio = median(spawnPool) / median(spawnBare);
verdicts.push(`- worker-pool ≥ 0.95× plain BullMQ in every throughput row: **${worstPlain >= 0.95 ? 'met' : 'missed'}** (lowest ratio ${r2(worstPlain)}×)`);
verdicts.push(`- supervisor CPU ≤ 2 µs per job at the highest no-op rate: **${supAtTop.us <= 2 ? 'met' : 'missed'}** (${supAtTop.us.toFixed(1)} µs at ${f0(supAtTop.rate)} jobs/s; the CPU clock ticks every ${(1000 / CLK_TCK).toFixed(0)} ms, so short runs round)`);
verdicts.push(`- a job added to an idle pool at zero workers runs within 1 s: **${zeroArrival <= 1000 ? 'met' : 'missed'}** (median ${f0(zeroArrival)} ms)`);
verdicts.push(`- worker-pool ≥ 2.5× sandboxed processors at concurrency 10: **${sandboxC10 >= 2.5 ? 'met' : 'missed'}** (lowest ${r2(sandboxC10)}×)`);
verdicts.push(`- spawn to ready ≤ 1.5× a bare process: **${spawnRatio <= 1.5 ? 'met' : 'missed'}** (${r2(spawnRatio)}×: ${f0(median(spawnPool))} ms vs ${f0(median(spawnBare))} ms)`);
verdicts.push(`- idle supervisor below 1% of a core: **${supCpu < 0.01 ? 'met' : 'missed'}** (${(supCpu * 100).toFixed(2)}% over ${idleSeconds} s with 4 children)`);
const other = [
  '| measure | worker-pool | baseline | ratio |',
  '| --- | ---: | ---: | ---: |',
  `| spawn to ready, median of ${spawnPool.length} (min–max) | ${f0(median(spawnPool))} ms (${f0(Math.min(...spawnPool))}–${f0(Math.max(...spawnPool))}) | ${f0(median(spawnBare))} ms (${f0(Math.min(...spawnBare))}–${f0(Math.max(...spawnBare))}) bare Node + BullMQ Worker | ${r2(spawnRatio)}× |`,
  `| supervisor CPU, idle, 4 children, ${idleSeconds} s | ${(supCpu * 100).toFixed(2)}% of a core | | |`,
  `| supervisor resident memory | ${supRss.toFixed(0)} MiB | | |`,
  `| worker child resident memory, idle | ${childRss.toFixed(0)} MiB | ${plainRss.toFixed(0)} MiB plain BullMQ Worker process | ${r2(childRss / plainRss)}× |`,
  `| drain, idle child: decision → exit, median of ${drainIdle.length} | ${f0(median(drainIdle))} ms | | |`,
  `| drain, one 2 s job running: decision → exit | ${f0(median(drainBusy))} ms | | |`,
  `| … of which after the job ended | ${f0(median(drainAfterJob))} ms | | |`,
].join('\n');

const cpu = os.cpus();
const redisVersion = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
const bullmqVersion = JSON.parse(readFileSync(path.join(root, 'node_modules/bullmq/package.json'), 'utf8')).version;
const machine = `${cpu.length} × ${cpu[0]?.model ?? 'unknown CPU'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}; Node ${process.version}, bullmq ${bullmqVersion}, ${redisVersion.split(' ').slice(0, 3).join(' ')}`;
const load = `load average ${loadStart.map((x) => x.toFixed(2)).join(' / ')} at the start, ${loadEnd.map((x) => x.toFixed(2)).join(' / ')} at the end (1 / 5 / 15 min)`;

console.log(`\nmachine: ${machine}\n${load}\n\n${throughputTable}\n\n${cpuTable}\n\n${arrivalTable}\n\n${other}\n\n${verdicts.join('\n')}\n\n${manyQueues}`);

if (WRITE) {
  const doc = readFileSync(path.join(here, 'benchmarks.template.md'), 'utf8')
    .replace('{{date}}', startedAt.toISOString().slice(0, 16).replace('T', ' ') + ' UTC')
    .replace('{{machine}}', machine)
    .replace('{{load}}', load)
    .replace('{{runs}}', String(RUNS))
    .replace('{{throughput}}', throughputTable)
    .replace('{{cpu}}', cpuTable)
    .replace('{{arrival}}', arrivalTable)
    .replace('{{queues}}', manyQueues)
    .replace('{{other}}', other)
    .replace('{{verdicts}}', verdicts.join('\n'));
  writeFileSync(path.join(root, 'docs/benchmarks.md'), doc);
  log('wrote docs/benchmarks.md');
}
process.exit(0);
