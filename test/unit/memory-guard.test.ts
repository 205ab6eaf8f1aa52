/**
 * The memory guard (pure): whatever a policy asks for, no worker that would take the pool (the
 * supervisor and every live worker, a new one counted at the largest one's size) over the cgroup's
 * limit less the share kept free, or over --memory-budget-mb; the reason names memory; min-workers
 * wins; a decision that adds nothing passes untouched. And over random inputs: never past the limit.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_MEMORY_GUARD, memoryRoom, withMemoryGuard } from '../../src/policy/memory-guard.js';
import { decideScale } from '../../src/policy/threshold.js';
import { selectPolicy } from '../../src/policy/select.js';
import type { MemorySnapshot, ScaleSnapshot } from '../../src/policy/types.js';
import { Random } from '../../src/sim/random.js';

const busy: ScaleSnapshot = { workers: 2, minWorkers: 1, maxWorkers: 8, utilization: 0.9, threshold: 0.5, measuredMs: 5000, periodMs: 5000, backlog: 50 };
const mem = (over: Partial<MemorySnapshot> = {}): MemorySnapshot => ({ cgroupLimitMb: 500, supervisorMb: 100, workersMb: 240, unmeasured: 0, active: 2, largestWorkerMb: 120, ...over });
const guarded = withMemoryGuard(decideScale);

describe('memory guard', () => {
  it('holds a step that would take the pool over the cgroup limit less 10%, and says so', () => {
    // 100 + 240 = 340 MiB in use; a new worker ~120 MiB: 460 > 450 (500 less 10%).
    const d = guarded({ ...busy, memory: mem() });
    expect(d).toMatchObject({ action: 'hold', target: 2 });
    expect(d.reason).toBe('utilization 0.90 > threshold 0.50; memory guard held the step: pool 340 MiB (supervisor 100, workers 240), a new worker ~120 MiB, cgroup memory limit 500 MiB less 10% kept free');
    // Room for one at 600 MiB (340 + 120 = 460 ≤ 540).
    expect(guarded({ ...busy, memory: mem({ cgroupLimitMb: 600 }) })).toMatchObject({ action: 'up', target: 3 });
  });

  it('counts a child not sampled yet, and a slot not forked yet, at the size a new one needs', () => {
    // 100 + 240 + one unmeasured (120) = 460: no room at 600 MiB less 10% (540) for another 120.
    expect(guarded({ ...busy, workers: 3, memory: mem({ cgroupLimitMb: 600, unmeasured: 1, active: 3 }) }).action).toBe('hold');
    // A slot waiting to be forked (workers 3, active 2) counts the same.
    expect(guarded({ ...busy, workers: 3, memory: mem({ cgroupLimitMb: 600 }) }).action).toBe('hold');
  });

  it('takes a new worker to need at least the floor, before any worker has reported', () => {
    const room = memoryRoom({ workers: 0, memory: mem({ workersMb: 0, active: 0, largestWorkerMb: null, cgroupLimitMb: 250 }) }, DEFAULT_MEMORY_GUARD);
    // (225 - 100) / 64 = 1.95: one worker.
    expect(room?.allowed).toBe(1);
  });

  it('caps a policy that steps by several at what fits', () => {
    const several = withMemoryGuard(() => ({ action: 'up', target: 8, reason: 'wants 8' }));
    const d = several({ ...busy, memory: mem({ cgroupLimitMb: 1000 }) });
    // 900 usable - 340 used = 560: four more of 120.
    expect(d).toMatchObject({ action: 'up', target: 6 });
    expect(d.reason).toMatch(/^wants 8; memory guard capped the step at 6 workers: pool 340 MiB/);
  });

  it('--memory-budget-mb is the limit when given (no share kept free), the tighter of the two when both', () => {
    const budget = withMemoryGuard(decideScale, { ...DEFAULT_MEMORY_GUARD, budgetMb: 400 });
    expect(budget({ ...busy, memory: mem({ cgroupLimitMb: null }) }).reason).toMatch(/memory guard held the step: .*, memory budget 400 MiB$/);
    expect(budget({ ...busy, memory: mem({ cgroupLimitMb: null }), workers: 2 }).action).toBe('hold');
    expect(withMemoryGuard(decideScale, { ...DEFAULT_MEMORY_GUARD, budgetMb: 460 })({ ...busy, memory: mem({ cgroupLimitMb: null }) })).toMatchObject({ action: 'up', target: 3 });
    expect(withMemoryGuard(decideScale, { ...DEFAULT_MEMORY_GUARD, budgetMb: 5000 })({ ...busy, memory: mem() }).reason).toMatch(/cgroup memory limit 500 MiB/);
  });

  it('without a limit, or for a decision that adds nothing, or below min-workers: the policy\'s decision as it is', () => {
    expect(guarded({ ...busy, memory: mem({ cgroupLimitMb: null }) })).toMatchObject({ action: 'up', target: 3 });
    expect(guarded({ ...busy, utilization: 0.1, memory: mem({ cgroupLimitMb: 100 }) })).toMatchObject({ action: 'down', target: 1 });
    expect(guarded({ ...busy, workers: 0, minWorkers: 2, memory: mem({ cgroupLimitMb: 100, active: 0, workersMb: 0 }) })).toMatchObject({ action: 'up', target: 2 });
  });

  it('is part of every policy selectPolicy builds, outside the CPU guard', () => {
    for (const policy of ['threshold', 'adaptive', 'latency'] as const) {
      const p = selectPolicy({ policy, maxStep: 4, stabilizationWindow: 10, scalingPeriod: 5, memoryBudgetMb: undefined });
      const d = p({ ...busy, now: 1, concurrency: 1, meanJobMs: 1000, arrivalRate: 10, oldestWaitMs: 60_000, memory: mem() });
      expect(d.action, policy).toBe('hold');
      expect(d.reason, policy).toMatch(/memory guard held the step/);
    }
  });

  it('over random inputs: a step up never takes the pool past the limit', () => {
    const rng = new Random(24);
    for (let i = 0; i < 5000; i++) {
      const workers = Math.floor(rng.next() * 10);
      const active = Math.min(workers, Math.floor(rng.next() * (workers + 1)));
      const unmeasured = Math.floor(rng.next() * (active + 1));
      const sizes = Array.from({ length: active - unmeasured }, () => 40 + rng.next() * 300);
      const m: MemorySnapshot = {
        cgroupLimitMb: rng.next() < 0.1 ? null : 200 + rng.next() * 4000,
        supervisorMb: 60 + rng.next() * 100,
        workersMb: sizes.reduce((a, b) => a + b, 0),
        unmeasured,
        active,
        largestWorkerMb: sizes.length ? Math.max(...sizes) : null,
      };
      const want = workers + 1 + Math.floor(rng.next() * 6);
      const d = withMemoryGuard(() => ({ action: 'up', target: want, reason: 'x' }))({ ...busy, workers, minWorkers: 0, memory: m });
      expect(d.target).toBeGreaterThanOrEqual(workers);
      if (d.target > workers && m.cgroupLimitMb !== null) {
        const need = Math.max(m.largestWorkerMb ?? 0, DEFAULT_MEMORY_GUARD.floorMb);
        const after = m.supervisorMb + m.workersMb + (m.unmeasured + (d.target - active)) * need;
        expect(after, JSON.stringify({ m, workers, d })).toBeLessThanOrEqual(m.cgroupLimitMb * 0.9 + 1e-6);
      }
    }
  });
});
