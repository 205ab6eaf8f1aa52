import { describe, expect, it } from 'vitest';
import { createLatencyPolicy, slotsForTarget } from '../../src/policy/latency.js';
import { withMemoryGuard } from '../../src/policy/memory-guard.js';
import type { ScaleSnapshot } from '../../src/policy/types.js';
import { WaitWindow } from '../../src/policy/wait-window.js';
import { Random } from '../../src/sim/random.js';

const T = 2000;
const base: ScaleSnapshot = {
  workers: 3, minWorkers: 1, maxWorkers: 10, utilization: 0.5, threshold: 0.5, measuredMs: 30_000, periodMs: 5000, concurrency: 1,
  arrivalRate: 2, recentArrivalRate: 2, meanJobMs: 1000, backlog: 0, oldestWaitMs: null, waitP95Ms: 100,
};
const policy = (stabilizationMs = 10_000) => createLatencyPolicy({ targetWaitMs: T, maxStep: 4, stabilizationMs });

describe('latency policy', () => {
  it('slotsForTarget is the fewest M/M/c slots with P(wait > target) ≤ 5%', () => {
    // 2 busy slots of 1 s jobs: 3 slots give P(W > 2 s) = C(3,2)·e^(−2) = 0.444·0.135 = 0.06 > 5%; 4 slots 0.17·e^(−4) ≪ 5%.
    expect(slotsForTarget(2, 1000, 2000, 100)).toBe(4);
    expect(slotsForTarget(0, 1000, 2000, 100)).toBe(0);
    // A tiny target needs nearly a slot per job in flight plus headroom; never fewer than the load.
    expect(slotsForTarget(10, 1000, 10, 100)).toBeGreaterThan(10);
    expect(slotsForTarget(50, 1000, 2000, 20)).toBe(21);
  });

  it('scales up as soon as the oldest waiting job passes the target, by what the model says', () => {
    const d = policy()({ ...base, now: 5000, backlog: 30, oldestWaitMs: T + 1, arrivalRate: 3 });
    expect(d.action).toBe('up');
    expect(d.target).toBeGreaterThan(3);
    expect(d.target).toBeLessThanOrEqual(3 + 4);
    expect(d.reason).toMatch(/oldest waiting 2\.00 s, target 2\.00 s/);
  });

  it('adds at least one worker for an old job even when the model thinks the pool is big enough', () => {
    const d = policy()({ ...base, now: 5000, backlog: 1, oldestWaitMs: 2500, arrivalRate: 0.1, recentArrivalRate: 0.1 });
    expect(d).toMatchObject({ action: 'up', target: 4 });
  });

  it('holds while waits are fine, and scales down only after the stabilization period of calm', () => {
    const p = policy(10_000);
    const calm = { ...base, workers: 6, arrivalRate: 1, recentArrivalRate: 1, waitP95Ms: 10 };
    expect(p({ ...calm, now: 0 }).action).toBe('hold');
    expect(p({ ...calm, now: 5000 }).action).toBe('hold');
    const d = p({ ...calm, now: 10_000 });
    expect(d).toMatchObject({ action: 'down', target: 5 });
    expect(d.reason).toMatch(/waits under half the target for 10 s/);
  });

  it('a wait near the target resets the calm: no scale-down', () => {
    const p = policy(10_000);
    const calm = { ...base, workers: 6, arrivalRate: 1, recentArrivalRate: 1, waitP95Ms: 10 };
    p({ ...calm, now: 0 });
    p({ ...calm, now: 5000, waitP95Ms: 1500 });
    // Calm again from 10 s: the stabilization period counts from there.
    expect(p({ ...calm, now: 10_000 }).action).toBe('hold');
    expect(p({ ...calm, now: 15_000 }).action).toBe('hold');
    expect(p({ ...calm, now: 20_000 }).action).toBe('down');
  });

  it('wakes a pool at zero for a waiting job, and respects max-workers and the memory budget', () => {
    expect(policy()({ ...base, workers: 0, minWorkers: 0, backlog: 1, oldestWaitMs: 10, meanJobMs: null, now: 1 })).toMatchObject({ action: 'up', target: 1 });
    expect(policy()({ ...base, workers: 10, backlog: 500, oldestWaitMs: 9000, now: 1 })).toMatchObject({ action: 'hold', target: 10 });
    const budget = withMemoryGuard(createLatencyPolicy({ targetWaitMs: T, maxStep: 4, stabilizationMs: 0 }), { budgetMb: 300, headroom: 0.1, floorMb: 64 });
    expect(budget({ ...base, backlog: 500, oldestWaitMs: 9000, workerMemoryMb: 70, poolMemoryMb: 210, now: 1 })).toMatchObject({ action: 'up', target: 4 });
  });

  it('over random inputs: within [min, max], up by at most max-step, down by one', () => {
    const rng = new Random(3);
    for (let run = 0; run < 100; run++) {
      const minWorkers = Math.floor(rng.next() * 3);
      const maxWorkers = minWorkers + 1 + Math.floor(rng.next() * 12);
      const p = createLatencyPolicy({ targetWaitMs: 100 + rng.next() * 10_000, maxStep: 1 + Math.floor(rng.next() * 4), stabilizationMs: rng.next() * 30_000 });
      let workers = minWorkers;
      let now = 0;
      for (let tick = 0; tick < 200; tick++) {
        now += 1000 + rng.next() * 5000;
        const d = p({
          ...base, workers, minWorkers, maxWorkers, now, measuredMs: rng.next() * 10_000,
          backlog: rng.next() < 0.2 ? null : Math.floor(rng.next() ** 3 * 1000), oldestWaitMs: rng.next() < 0.5 ? null : rng.next() * 20_000,
          waitP95Ms: rng.next() < 0.3 ? null : rng.next() * 20_000, arrivalRate: rng.next() * 30, meanJobMs: rng.next() < 0.2 ? null : rng.next() * 5000,
        });
        expect(d.target).toBeGreaterThanOrEqual(minWorkers);
        expect(d.target).toBeLessThanOrEqual(maxWorkers);
        if (workers >= minWorkers) {
          expect(d.target - workers).toBeLessThanOrEqual(4);
          expect(workers - d.target).toBeLessThanOrEqual(1);
        }
        workers = d.target;
      }
    }
  });
});

describe('WaitWindow', () => {
  it('gives quantiles of the window within one 10% bucket, forgetting what fell out', () => {
    const w = new WaitWindow(10_000);
    for (let i = 1; i <= 100; i++) w.record(1000 + i, i * 10); // waits 10 … 1000 ms
    const p95 = w.quantile(2000, 0.95)!;
    expect(p95).toBeGreaterThanOrEqual(950);
    expect(p95).toBeLessThanOrEqual(950 * 1.1);
    expect(w.quantile(2000, 1)!).toBeGreaterThanOrEqual(1000);
    expect(w.quantile(13_000, 0.95)).toBeNull();
    w.record(13_000, 0);
    expect(w.quantile(13_000, 0.95)).toBe(1);
  });
});
