#!/usr/bin/env node
// node bench/wake-on-arrival.mjs [rounds=10] [--min-workers N] [--timeline]
// Arrival → active for a pool at zero workers: a job is added to an idle pool (`worker-pool` run as
// its own process, a private redis-server, the compiled code in dist/), and the figure is the job's
// processedOn − timestamp. Prints each round and the median. With --timeline, also where the time
// went, read from the daemon's and the child's debug log lines (ms after the job was added).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { freePort, startEmbeddedRedis } from '../dist/redis/embedded.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const args = process.argv.slice(2);
const flag = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const ROUNDS = Number(args.find((a) => /^\d+$/.test(a) && args[args.indexOf(a) - 1] !== '--min-workers') ?? 10);
const MIN_WORKERS = flag('--min-workers', '0');
const TIMELINE = args.includes('--timeline');
const prefix = 'wake';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

const redis = await startEmbeddedRedis();
const conn = new Redis(redis.url, { maxRetriesPerRequest: null });

/** Start the daemon; resolves once /status answers with the pool at its minimum. */
async function startPool(queue, lines) {
  const port = await freePort();
  const argv = [path.join(root, 'bin/worker-pool'), '--processor', path.join(here, 'processors/noop.mjs'), '--concurrency', '1', '--min-workers', MIN_WORKERS, '--max-workers', '1', '--redis-url', redis.url, '--prefix', prefix, '--queues', queue, '--metrics-port', String(port), '--log-level', TIMELINE ? 'debug' : 'warn', '--log-format', 'json', '--stop-timeout', '10'];
  const sup = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] });
  createInterface({ input: sup.stdout }).on('line', (l) => {
    try {
      const o = JSON.parse(l);
      lines.push({ at: Date.parse(o.time), who: o.worker ?? 'supervisor', msg: o.msg });
    } catch {
      // not a log line
    }
  });
  const exited = new Promise((resolve) => sup.once('exit', resolve));
  for (;;) {
    const status = await fetch(`http://127.0.0.1:${port}/status`).then((r) => r.json()).catch(() => undefined);
    if (status && status.runningWorkers >= Number(MIN_WORKERS)) break;
    if (sup.exitCode !== null) throw new Error(`worker-pool exited ${sup.exitCode}`);
    await sleep(50);
  }
  return { stop: async () => { sup.kill('SIGTERM'); await exited; } };
}

async function once() {
  const queue = `arrive-${Math.random().toString(36).slice(2, 8)}`;
  const q = new Queue(queue, { connection: conn, prefix });
  const lines = [];
  const pool = await startPool(queue, lines);
  await sleep(1500); // idle for a moment: past start-up, no worker
  const job = await q.add('j', {});
  let j;
  for (;;) {
    j = await q.getJob(job.id);
    if (j?.processedOn) break;
    await sleep(2);
  }
  await pool.stop();
  await q.obliterate({ force: true }).catch(() => undefined);
  await q.close();
  const timeline = lines.filter((l) => l.at >= j.timestamp - 5).map((l) => `  +${String(l.at - j.timestamp).padStart(5)} ms  ${l.who.padEnd(10)} ${l.msg}`);
  return { ms: j.processedOn - j.timestamp, timeline };
}

const xs = [];
for (let i = 0; i < ROUNDS; i++) {
  const r = await once();
  xs.push(r.ms);
  console.log(`round ${i + 1}: ${r.ms} ms`);
  if (TIMELINE) console.log(`${r.timeline.join('\n')}\n  +${String(r.ms).padStart(5)} ms  job processedOn`);
}
console.log(`arrival → active at --min-workers ${MIN_WORKERS}: median ${median(xs)} ms, min–max ${Math.min(...xs)}–${Math.max(...xs)} ms (${ROUNDS} rounds)`);
await conn.quit();
await redis.stop();
