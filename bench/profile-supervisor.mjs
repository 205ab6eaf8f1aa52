#!/usr/bin/env node
// Profile the supervisor at the no-op rate: `node bench/profile-supervisor.mjs [DIR]`. Runs
// `worker-pool` (1 child, concurrency C=10) under `node --cpu-prof` on a private Redis, drains
// N=60000 no-op jobs, stops it, and leaves the supervisor's .cpuprofile in DIR (default ./profiles);
// summarize it with bench/profile-summary.mjs. Prints jobs/s and the supervisor's, the child's and
// Redis' CPU per job, and the supervisor's CPU per second (IDLE_S=10: also while idle first;
// INTERVAL_US: the profiler's sampling interval). (The child's own profile: bench/profile-worker.mjs, which runs it in-process.)
import { spawn, execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort, startEmbeddedRedis } from '../dist/redis/embedded.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const dir = path.resolve(process.argv[2] ?? 'profiles');
const N = Number(process.env.N ?? 60000);
const C = Number(process.env.C ?? 10);
mkdirSync(dir, { recursive: true });
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
const cpu = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8'); const x = f.slice(f.lastIndexOf(')') + 2).split(' '); return (Number(x[11]) + Number(x[12])) / CLK_TCK; };

const redis = await startEmbeddedRedis();
const port = await freePort();
// PROFILE=0: the same run without the profiler (whose sampling thread costs CPU of its own).
const profile = process.env.PROFILE === '0' ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`, ...(process.env.INTERVAL_US ? [`--cpu-prof-interval=${process.env.INTERVAL_US}`] : [])];
const sup = spawn(process.execPath, [...profile, path.join(root, 'bin/worker-pool'), '--processor', path.join(here, 'processors/noop.mjs'), '--concurrency', String(C), '--min-workers', '1', '--max-workers', '1', '--redis-url', redis.url, '--prefix', 'prof', '--queues', 'p', '--metrics-port', String(port), '--log-level', 'warn'], { stdio: ['ignore', 'ignore', 'inherit'] });
let status;
for (;;) {
  status = await fetch(`http://127.0.0.1:${port}/status`).then((r) => r.json()).catch(() => undefined);
  if (status?.runningWorkers === 1) break;
  await new Promise((r) => setTimeout(r, 100));
}
const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
const q = new Queue('p', { connection: conn, prefix: 'prof' });
await q.pause();
for (let i = 0; i < N; i += 1000) await q.addBulk(Array.from({ length: Math.min(1000, N - i) }, () => ({ name: 'j', data: {}, opts: { removeOnComplete: true } })));
const child = status.workers[0].pid;
// IDLE_S=10: first the supervisor's CPU over that long with the child idle (its fixed cost per second).
const idleS = Number(process.env.IDLE_S ?? 0);
let idleMsPerS;
if (idleS > 0) {
  const i0 = cpu(sup.pid);
  await new Promise((r) => setTimeout(r, idleS * 1000));
  idleMsPerS = ((cpu(sup.pid) - i0) * 1000) / idleS;
}
const c0 = [cpu(sup.pid), cpu(child), cpu(redis.pid)];
const t0 = performance.now();
await q.resume();
for (;;) {
  const c = await q.getJobCounts('wait', 'active');
  if (c.wait + c.active === 0) break;
  await new Promise((r) => setTimeout(r, 20));
}
const s = (performance.now() - t0) / 1000;
const [dSup, dChild, dRedis] = [cpu(sup.pid) - c0[0], cpu(child) - c0[1], cpu(redis.pid) - c0[2]];
console.log(`${N} no-op jobs in ${s.toFixed(2)} s: ${(N / s).toFixed(0)} jobs/s; CPU per job: supervisor ${((dSup / N) * 1e6).toFixed(1)} µs, child ${((dChild / N) * 1e6).toFixed(1)} µs, Redis ${((dRedis / N) * 1e6).toFixed(1)} µs; supervisor ${((dSup * 1000) / s).toFixed(1)} ms of CPU per s${idleMsPerS === undefined ? '' : ` (idle: ${idleMsPerS.toFixed(1)} ms per s)`}`);
const exited = new Promise((r) => sup.once('exit', r));
sup.kill('SIGTERM');
await exited;
await q.close();
conn.disconnect();
await redis.stop();
console.log(`profiles in ${dir}: ${readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).join(' ')}`);
