/**
 * The CPU-saturation guard on a real pool (real children, real Redis, this machine's CPUs): CPU-bound
 * jobs with max-workers 8 keep the pool at ≤ cores + 1 workers and complete at least as many jobs per
 * second as the same pool with the guard off (which climbs to 8); I/O-bound jobs on the same settings
 * grow the pool as the threshold rule says, the guard never stepping in.
 */
import os from 'node:os';
import { afterEach, describe, expect, it } from 'vitest';
import type { DecisionRecord } from '../../src/supervisor/control-loop.js';
import { fixture, startPool, type TestPool } from '../helpers/pool.js';
import { queue } from '../helpers/redis.js';

let pool: TestPool | undefined;
afterEach(async () => {
  await pool?.stop();
  pool = undefined;
});

const SETTINGS = {
  'min-workers': 1, 'max-workers': 8, concurrency: 1, 'scaling-period': 1, window: 3,
  'sample-interval': 0.2, 'utilization-threshold': 0.5, 'stop-timeout': 5,
};

interface Run {
  decisions: DecisionRecord[];
  /** Jobs completed per second over the measuring span. */
  rate: number;
  sizes: string;
}

/** A full queue of `jobs` jobs, a pool on it, `seconds` of running; completions counted after `measureFrom` s. */
async function run(processor: string, data: object, jobs: number, flags: Record<string, unknown>, seconds: number, measureFrom: number): Promise<Run> {
  pool = await startPool({ processor: fixture(processor), ...SETTINGS, ...flags });
  const { daemon } = pool;
  const decisions: DecisionRecord[] = [];
  daemon.loop.onDecision((d) => decisions.push(d));
  const ends: number[] = [];
  daemon.supervisor.on('worker-message', (_w, m) => m.type === 'job-end' && ends.push(performance.now()));
  const q = queue('default', pool.prefix);
  for (let i = 0; i < jobs; i += 500) {
    await q.addBulk(Array.from({ length: Math.min(500, jobs - i) }, () => ({ name: 'job', data, opts: { removeOnComplete: true } })));
  }
  const t0 = performance.now();
  await new Promise<void>((resolve) => daemon.loop.onDecision(() => performance.now() - t0 >= seconds * 1000 && resolve()));
  const from = t0 + measureFrom * 1000;
  const to = performance.now();
  const rate = (ends.filter((t) => t >= from && t <= to).length * 1000) / (to - from);
  await q.close();
  await pool.stop();
  pool = undefined;
  return { decisions, rate, sizes: decisions.map((d) => `${d.workersAfter}${d.guard ? `(${d.guard})` : ''}`).join(' ') };
}

describe('CPU-saturation guard on a real pool', () => {
  it('CPU-bound jobs: ≤ cores + 1 workers with the guard, at least the jobs/s of the guard-off pool at 8', async () => {
    const cores = os.availableParallelism();
    const off = await run('spin.mjs', { ms: 20 }, 4000, { 'cpu-guard': false }, 12, 7);
    const on = await run('spin.mjs', { ms: 20 }, 4000, {}, 12, 7);
    const context = `cores ${cores}\nguard off: ${off.rate.toFixed(1)} jobs/s, sizes ${off.sizes}\nguard on:  ${on.rate.toFixed(1)} jobs/s, sizes ${on.sizes}\n${on.decisions.filter((d) => d.guard).map((d) => d.reason).slice(0, 3).join('\n')}`;
    console.log(context);
    // Without the guard the rule climbs to max: the load is one the guard has to hold back.
    expect(Math.max(...off.decisions.map((d) => d.workersAfter)), context).toBe(8);
    for (const d of on.decisions) expect(d.workersAfter, context).toBeLessThanOrEqual(cores + 1);
    // The guard said so, with its figures.
    const guarded = on.decisions.filter((d) => d.guard);
    expect(guarded.length, context).toBeGreaterThan(0);
    for (const d of guarded) expect(d.reason, context).toMatch(/host CPU \d+% of \d+(\.\d)? cores/);
    expect(on.rate, context).toBeGreaterThanOrEqual(off.rate * 0.9);
  }, 90_000);

  it('I/O-bound jobs on the same settings: the pool grows as the rule says, the guard never steps in', async () => {
    const io = await run('sleep.mjs', { ms: 200 }, 1500, {}, 10, 5);
    const context = `sizes ${io.sizes}\n${io.decisions.map((d) => d.reason).join('\n')}`;
    expect(io.decisions.filter((d) => d.guard), context).toEqual([]);
    // Every decision is the threshold rule's: a full queue keeps utilization above 0.5, so up by one a period until max.
    for (const d of io.decisions) {
      if (d.action === 'up') expect(d.workersAfter, context).toBe(d.workersBefore + 1);
      expect(d.action, context).not.toBe('down');
    }
    expect(Math.max(...io.decisions.map((d) => d.workersAfter)), context).toBe(8);
  }, 60_000);
});
