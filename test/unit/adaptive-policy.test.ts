import { describe, expect, it } from 'vitest';
import { createAdaptivePolicy, recommend } from '../../src/policy/adaptive.js';
import { DemandTracker } from '../../src/policy/demand.js';
import { withMemoryGuard } from '../../src/policy/memory-guard.js';
import { decideScale } from '../../src/policy/threshold.js';
import type { ScaleSnapshot } from '../../src/policy/types.js';
import { Random } from '../../src/sim/random.js';

const base = { workers: 2, minWorkers: 1, maxWorkers: 10, utilization: 0.5, threshold: 0.5, concurrency: 1 } as ScaleSnapshot;

describe('adaptive policy: invariants over random inputs', () => {
  it('stays within [min, max], steps up by at most max-step, down by one, never down inside the stabilization window after an up', () => {
    const rng = new Random(42);
    for (let run = 0; run < 200; run++) {
      const maxStep = 1 + Math.floor(rng.next() * 5);
      const stabilizationMs = Math.floor(rng.next() * 60_000);
      const minWorkers = Math.floor(rng.next() * 3);
      const maxWorkers = minWorkers + 1 + Math.floor(rng.next() * 12);
      const budget = rng.next() < 0.3 ? 100 + Math.floor(rng.next() * 800) : undefined;
      const adaptive = createAdaptivePolicy({ maxStep, stabilizationMs, drainTargetMs: 5000 });
      const policy = budget === undefined ? adaptive : withMemoryGuard(adaptive, { budgetMb: budget, headroom: 0.1, floorMb: 0 });
      let workers = minWorkers;
      let now = 0;
      let lastUpAt = -Infinity;
      for (let tick = 0; tick < 300; tick++) {
        now += 1000 + Math.floor(rng.next() * 9000);
        const busy = rng.next() < 0.1;
        const snapshot = {
          workers,
          minWorkers,
          maxWorkers,
          threshold: 0.1 + rng.next() * 0.9,
          utilization: workers === 0 || rng.next() < 0.05 ? null : rng.next(),
          now,
          concurrency: 1 + Math.floor(rng.next() * 10),
          backlog: rng.next() < 0.2 ? null : Math.floor(rng.next() ** 3 * (busy ? 5000 : 50)),
          oldestWaitMs: rng.next() < 0.5 ? null : rng.next() * 60_000,
          arrivalRate: rng.next() < 0.2 ? null : rng.next() * 50,
          meanJobMs: rng.next() < 0.2 ? null : rng.next() ** 2 * 20_000,
          busySlots: rng.next() < 0.3 ? null : rng.next() * 40,
          workerMemoryMb: workers === 0 ? null : 40 + rng.next() * 100,
          poolMemoryMb: null,
        } as ScaleSnapshot;
        const d = policy(snapshot);
        const must = (ok: boolean, what: string) => {
          if (!ok) expect.fail(`${what}: ${JSON.stringify({ run, tick, workers, lastUpAt, stabilizationMs, maxStep, budget, snapshot, d })}`);
        };
        must(d.target >= minWorkers && d.target <= maxWorkers, 'target within [min, max]');
        must(d.target - workers <= Math.max(maxStep, minWorkers - workers), 'up by at most max-step');
        must(d.action === (d.target > workers ? 'up' : d.target < workers ? 'down' : 'hold'), 'action matches target');
        if (d.action === 'down') {
          must(workers - d.target === 1, 'down by one');
          must(now - lastUpAt > stabilizationMs, 'no scale-down inside the stabilization window');
        }
        if (d.action === 'up') {
          lastUpAt = now;
          if (budget !== undefined && snapshot.workerMemoryMb != null && workers >= minWorkers) {
            // Never past the budget, counting the workers already running at the measured size.
            must(d.target * snapshot.workerMemoryMb <= budget + 1e-6, 'memory budget');
          }
        }
        workers = d.target;
      }
    }
  });
});

describe('adaptive policy: decisions', () => {
  const make = (over: Partial<Parameters<typeof createAdaptivePolicy>[0]> = {}) => createAdaptivePolicy({ maxStep: 3, stabilizationMs: 30_000, drainTargetMs: 5000, ...over });

  it('sizes the pool by Little\'s law at the threshold as target utilization', () => {
    // 2 jobs/s × 1 s = 2 busy slots; at target 0.5 that is 4 slots = 4 workers of concurrency 1.
    expect(recommend({ ...base, arrivalRate: 2, meanJobMs: 1000, backlog: 0 }, { drainTargetMs: 5000 }).want).toBe(4);
    // The same demand with concurrency 3: 2 workers.
    expect(recommend({ ...base, concurrency: 3, arrivalRate: 2, meanJobMs: 1000, backlog: 0 }, { drainTargetMs: 5000 }).want).toBe(2);
  });

  it('jumps by up to max-step when the backlog is deep', () => {
    const d = make()({ ...base, workers: 1, backlog: 500, meanJobMs: 1000, now: 5000 });
    expect(d).toMatchObject({ action: 'up', target: 4 });
    expect(d.reason).toMatch(/backlog 500/);
    expect(d.reason).toMatch(/step ≤ 3/);
  });

  it('scales down one worker at a time, only after the stabilization window', () => {
    const policy = make();
    const quiet = { ...base, workers: 6, utilization: 0, busySlots: 0, arrivalRate: 0, meanJobMs: 1000, backlog: 0 };
    expect(policy({ ...quiet, workers: 2, utilization: 1, busySlots: 2, arrivalRate: 3, now: 0 })).toMatchObject({ action: 'up', target: 5 });
    expect(policy({ ...quiet, workers: 5, now: 5000 }).action).toBe('hold');
    expect(policy({ ...quiet, workers: 5, now: 30_000 }).action).toBe('hold');
    expect(policy({ ...quiet, workers: 5, now: 35_000 })).toMatchObject({ action: 'down', target: 4 });
    expect(policy({ ...quiet, workers: 4, now: 40_000 })).toMatchObject({ action: 'down', target: 3 });
  });

  it('wakes from zero when a job waits, and scales to zero when idle', () => {
    const policy = make({ stabilizationMs: 0 });
    const zero = { ...base, minWorkers: 0, workers: 0, utilization: null, busySlots: 0 };
    expect(policy({ ...zero, backlog: 0, now: 5000 })).toMatchObject({ action: 'hold', target: 0 });
    expect(policy({ ...zero, backlog: 1, now: 10_000 })).toMatchObject({ action: 'up', target: 1 });
    expect(policy({ ...zero, workers: 1, utilization: 0, backlog: 0, arrivalRate: 0, now: 15_000 })).toMatchObject({ action: 'down', target: 0 });
  });

  it('never starts a worker that would take the pool over the memory budget', () => {
    const policy = withMemoryGuard(make(), { budgetMb: 300, headroom: 0.1, floorMb: 64 });
    const d = policy({ ...base, workers: 2, backlog: 1000, meanJobMs: 1000, workerMemoryMb: 100, poolMemoryMb: 200, now: 1 });
    expect(d).toMatchObject({ action: 'up', target: 3 });
    const held = policy({ ...base, workers: 3, backlog: 1000, meanJobMs: 1000, workerMemoryMb: 100, poolMemoryMb: 300, now: 2 });
    expect(held.action).toBe('hold');
    expect(held.reason).toMatch(/memory budget 300 MiB/);
  });
});

describe('threshold rule with min-workers 0', () => {
  it('holds at zero while nothing waits and wakes one worker for a waiting job', () => {
    const zero = { ...base, minWorkers: 0, workers: 0, utilization: null };
    expect(decideScale({ ...zero, backlog: 0 })).toMatchObject({ action: 'hold', target: 0 });
    expect(decideScale(zero)).toMatchObject({ action: 'hold', target: 0 });
    expect(decideScale({ ...zero, backlog: 3 })).toMatchObject({ action: 'up', target: 1 });
    expect(decideScale({ ...base, minWorkers: 0, workers: 1, utilization: 0 })).toMatchObject({ action: 'down', target: 0 });
  });
});

describe('DemandTracker', () => {
  it('derives arrivals from conservation and the mean job time from finished jobs', () => {
    const d = new DemandTracker(10_000);
    expect(d.rates()).toEqual({ arrivalRate: null, completionRate: null, recentArrivalRate: null, meanJobMs: null });
    d.observe({ at: 0, backlog: 5, running: 2, finished: 0, finishedBusyMs: 0 });
    // In 10 s: 20 finished (40 s of work), backlog 5 → 3, running 2 → 4: arrived 20 + 7 - 7 = 20.
    d.observe({ at: 10_000, backlog: 3, running: 4, finished: 20, finishedBusyMs: 40_000 });
    expect(d.rates()).toEqual({ arrivalRate: 2, completionRate: 2, recentArrivalRate: 2, meanJobMs: 2000 });
    // The window slides: the anchor becomes the observation at 10 s.
    d.observe({ at: 20_000, backlog: null, running: 0, finished: 20, finishedBusyMs: 40_000 });
    expect(d.rates()).toEqual({ arrivalRate: null, completionRate: 0, recentArrivalRate: null, meanJobMs: 2000 });
    // The recent rate looks at the last period only: 10 s at 2/s, then 5 s in which 30 arrive.
    const e = new DemandTracker(30_000);
    e.observe({ at: 0, backlog: 0, running: 0, finished: 0, finishedBusyMs: 0 });
    e.observe({ at: 10_000, backlog: 0, running: 0, finished: 20, finishedBusyMs: 20_000 });
    e.observe({ at: 15_000, backlog: 25, running: 1, finished: 24, finishedBusyMs: 24_000 });
    expect(e.rates()).toMatchObject({ arrivalRate: 50 / 15, recentArrivalRate: 6 });
  });
});
