/**
 * The CPU-saturation guard on a real pool (real children, real Redis, this machine's CPUs): CPU-bound
 * jobs with max-workers 8 keep the pool at ≤ cores + 1 workers and complete at least as many jobs per
 * second as the same pool with the guard off (which climbs to 8), where nothing else crowds the host;
 * I/O-bound jobs on the same settings grow the pool as the threshold rule says, the guard never
 * stepping in. Issue 25, item 7: with another process burning a core beside it, CPU-bound jobs still
 * never take the pool past cores + 1, by the pool's own count of its processes and by the record the
 * processes that ran the jobs kept.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import { describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/scaling/control-loop.js';
import { HostCpu } from '../../src/scaling/host-cpu.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { client, queue, redisUrl } from '../helpers/redis.js';

const startPool = poolPerTest();

const SETTINGS = {
  'min-workers': 1, 'max-workers': 8, concurrency: 1, 'scaling-period': 1, window: 3,
  'sample-interval': 0.2, 'utilization-threshold': 0.5, 'stop-timeout': 5,
};

interface Run {
  decisions: DecisionRecord[];
  /** Jobs completed per second over the measuring span. */
  rate: number;
  sizes: string;
  /** Cores used, over the measuring span, by everything on the host but this pool's children. */
  othersCores: number;
}

/**
 * A full queue of `jobs` jobs, a pool on it, `seconds` of running (or until `done` says so, at most
 * `seconds`); completions counted after `measureFrom` s.
 */
async function run(processor: string, data: object, jobs: number, flags: Record<string, unknown>, seconds: number, measureFrom: number, done?: (d: DecisionRecord) => boolean): Promise<Run> {
  const pool = await startPool({ processor: fixture(processor), ...SETTINGS, ...flags });
  const { daemon } = pool;
  const decisions: DecisionRecord[] = [];
  daemon.loop.onDecision((d) => decisions.push(d));
  const ends: number[] = [];
  // The children's CPU time (µs) from their samples, each since its first sample, to tell this pool's use of the host from others'.
  const cpuFirst = new Map<string, number>();
  const cpuLast = new Map<string, number>();
  daemon.supervisor.on('worker-message', (w, m) => {
    // Completions, from the counts the samples carry (no message per job).
    if (m.type === 'sample') for (const q of m.jobs ?? []) for (let k = 0; k < q.completed + q.failed; k++) ends.push(performance.now());
    if (m.type === 'sample' && m.cpu) {
      const us = m.cpu.user + m.cpu.system;
      if (!cpuFirst.has(w.key)) cpuFirst.set(w.key, us);
      cpuLast.set(w.key, us);
    }
  });
  const poolCpuUs = () => [...cpuLast].reduce((n, [k, us]) => n + us - cpuFirst.get(k)!, 0);
  const host = new HostCpu();
  const ownUs = () => {
    const u = process.cpuUsage();
    return u.user + u.system;
  };
  let atMeasure: { at: number; poolUs: number; ownUs: number } | undefined;
  const q = queue('default', pool.prefix);
  for (let i = 0; i < jobs; i += 500) {
    await q.addBulk(Array.from({ length: Math.min(500, jobs - i) }, () => ({ name: 'job', data, opts: { removeOnComplete: true } })));
  }
  const t0 = performance.now();
  const measureTimer = setTimeout(() => {
    host.read();
    atMeasure = { at: performance.now(), poolUs: poolCpuUs(), ownUs: ownUs() };
  }, measureFrom * 1000);
  await new Promise<void>((resolve) => daemon.loop.onDecision((d) => (performance.now() - t0 >= seconds * 1000 || done?.(d)) && resolve()));
  clearTimeout(measureTimer);
  const from = t0 + measureFrom * 1000;
  const to = performance.now();
  const reading = host.read();
  // The pool's children and this process (the supervisor, the producer) are the pool; Redis counts as "others".
  const ours = atMeasure ? (poolCpuUs() - atMeasure.poolUs + ownUs() - atMeasure.ownUs) / 1000 / (to - atMeasure.at) : NaN;
  const othersCores = atMeasure && reading.busy !== null ? Math.max(0, reading.busy * reading.cores - ours) : NaN;
  const rate = (ends.filter((t) => t >= from && t <= to).length * 1000) / (to - from);
  await q.close();
  await pool.close();
  return { decisions, rate, othersCores, sizes: decisions.map((d) => `${d.workersAfter}${d.guard ? `(${d.guard})` : ''}`).join(' ') };
}

/**
 * From the processes' own record ("pid start end" per job, wall ms): the most processes running a job
 * at one instant, and the most whose spans from first job start to last job end overlap.
 */
function processesAtOnce(record: string[]): { instant: number; spans: number; pids: number } {
  const jobs = record.map((r) => r.split(' ').map(Number) as [number, number, number]);
  const most = (intervals: Array<[number, number, number]>) => {
    const edges = intervals.flatMap(([pid, a, b]) => [[a, 1, pid], [b, -1, pid]] as const).sort((x, y) => x[0] - y[0] || x[1] - y[1]);
    const running = new Map<number, number>();
    let max = 0;
    for (const [, d, pid] of edges) {
      const n = (running.get(pid) ?? 0) + d;
      if (n === 0) running.delete(pid);
      else running.set(pid, n);
      max = Math.max(max, running.size);
    }
    return max;
  };
  const spans = new Map<number, [number, number, number]>();
  for (const [pid, a, b] of jobs) {
    const s = spans.get(pid);
    spans.set(pid, s ? [pid, Math.min(s[1], a), Math.max(s[2], b)] : [pid, a, b]);
  }
  return { instant: most(jobs), spans: most([...spans.values()]), pids: spans.size };
}

describe('CPU-saturation guard on a real pool', () => {
  it('CPU-bound jobs: ≤ cores + 1 workers with the guard, at least the jobs/s of the guard-off pool at 8', async () => {
    const cores = os.availableParallelism();
    const off = await run('spin.mjs', { ms: 20 }, 4000, { 'cpu-guard': false }, 12, 7);
    const on = await run('spin.mjs', { ms: 20 }, 4000, {}, 12, 7);
    const context = `cores ${cores}\nguard off: ${off.rate.toFixed(1)} jobs/s, others on the host ${off.othersCores.toFixed(2)} cores, sizes ${off.sizes}\nguard on:  ${on.rate.toFixed(1)} jobs/s, others on the host ${on.othersCores.toFixed(2)} cores, sizes ${on.sizes}\n${on.decisions.filter((d) => d.guard).map((d) => d.reason).slice(0, 3).join('\n')}`;
    console.log(context);
    // Without the guard the rule climbs to max: the load is one the guard has to hold back.
    expect(Math.max(...off.decisions.map((d) => d.workersAfter)), context).toBe(8);
    for (const d of on.decisions) expect(d.workersAfter, context).toBeLessThanOrEqual(cores + 1);
    // The guard said so, with its figures.
    const guarded = on.decisions.filter((d) => d.guard);
    expect(guarded.length, context).toBeGreaterThan(0);
    for (const d of guarded) expect(d.reason, context).toMatch(/host CPU \d+% of \d+(\.\d)? cores/);
    // At least the jobs/s of the pool at 8, within 10% for noise, where the cores were this pool's
    // (Redis, counted with the others, takes up to ~0.2 of a core). On a host crowded by other work, eight
    // processes take a bigger share of the cores from the others than three do: that is taking, not
    // throughput the cores could add, and no fair comparison exists; the figures are printed.
    const quiet = off.othersCores < 0.5 && on.othersCores < 0.5;
    if (quiet) expect(on.rate, context).toBeGreaterThanOrEqual(off.rate * 0.9);
    else expect(on.rate, context).toBeGreaterThan(0);
  }, 90_000);

  it('on a busy host (another process burning a core): CPU-bound jobs never take the pool past cores + 1', async () => {
    const cores = os.availableParallelism();
    const burner = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    const conn = client();
    let record = '';
    try {
      const pool = await startPool({ processor: fixture('spin-record.mjs'), ...SETTINGS });
      const { daemon } = pool;
      // Outside the pool's prefix, which closing the test pool deletes.
      record = `${pool.prefix}-ran`;
      const decisions: DecisionRecord[] = [];
      daemon.loop.onDecision((d) => decisions.push(d));
      // The pool's own count of its worker processes, every 100 ms.
      const sizes: number[] = [];
      const sampler = setInterval(() => sizes.push(daemon.supervisor.workers().filter((w) => w.state !== 'exited').length), 100);
      const q = queue('default', pool.prefix);
      for (let i = 0; i < 4000; i += 500) await q.addBulk(Array.from({ length: 500 }, () => ({ name: 'job', data: { ms: 20, redis: redisUrl(), record }, opts: { removeOnComplete: true } })));
      const t0 = performance.now();
      await new Promise<void>((resolve) => daemon.loop.onDecision(() => performance.now() - t0 >= 15_000 && resolve()));
      clearInterval(sampler);
      await q.close();
      await pool.close();
      const ran = processesAtOnce(await conn.lrange(record, 0, -1));
      const context = `cores ${cores}, another process burning a core; most worker processes ${Math.max(...sizes)}; processes running jobs at once ${ran.instant} (spans overlapping ${ran.spans}, ${ran.pids} processes ran jobs); sizes ${decisions.map((d) => `${d.workersAfter}${d.guard ? `(${d.guard})` : ''}`).join(' ')}\n${decisions.filter((d) => d.guard).map((d) => d.reason).slice(0, 2).join('\n')}`;
      console.log(context);
      // The load is one the guard has to hold back: it said so, with its figures.
      expect(decisions.filter((d) => d.guard === 'held').length, context).toBeGreaterThan(0);
      for (const d of decisions) expect(d.workersAfter, context).toBeLessThanOrEqual(cores + 1);
      expect(Math.max(...sizes), context).toBeLessThanOrEqual(cores + 1);
      expect(ran.instant, context).toBeLessThanOrEqual(cores + 1);
      expect(ran.spans, context).toBeLessThanOrEqual(cores + 1);
    } finally {
      burner.kill('SIGKILL');
      if (record) await conn.del(record);
      conn.disconnect();
    }
  }, 60_000);

  it('I/O-bound jobs on the same settings: the pool grows as the rule says, the guard never steps in', async () => {
    // Until the pool reaches max (forks are slow on a crowded host: up to ~40 s), or 45 s.
    const io = await run('sleep.mjs', { ms: 200 }, 4000, {}, 45, 0, (d) => d.workersAfter === 8);
    const context = `sizes ${io.sizes}\n${io.decisions.map((d) => d.reason).join('\n')}`;
    expect(io.decisions.filter((d) => d.guard), context).toEqual([]);
    // Every decision is the threshold rule's: a full queue keeps utilization above 0.5, so up by one a period until max.
    for (const d of io.decisions) {
      if (d.action === 'up') expect(d.workersAfter, context).toBe(d.workersBefore + 1);
      expect(d.action, context).not.toBe('down');
    }
    expect(Math.max(...io.decisions.map((d) => d.workersAfter)), context).toBe(8);
  }, 75_000);
});
