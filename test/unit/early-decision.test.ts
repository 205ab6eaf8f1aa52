/**
 * Issue 16: deciding early when every slot is busy and jobs wait. The threshold rule may add one
 * worker on the time since the last resize only in that case; the saturation watch asks for such a
 * decision from the samples, at most once per sample interval; the control loop records an early
 * decision only when it changes the size.
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { createLogger } from '../../src/logger.js';
import { withCpuGuard } from '../../src/policy/cpu-guard.js';
import { decideScale } from '../../src/policy/threshold.js';
import type { ScalePolicy, ScaleSnapshot } from '../../src/policy/types.js';
import { ControlLoop } from '../../src/scaling/control-loop.js';
import { SaturationWatch } from '../../src/scaling/saturation-watch.js';
import type { Slot, Supervisor } from '../../src/supervisor/supervisor.js';
import type { WorkerProcess } from '../../src/supervisor/worker-process.js';

const early: ScaleSnapshot = { workers: 2, minWorkers: 1, maxWorkers: 4, utilization: 0.9, threshold: 0.5, measuredMs: 800, periodMs: 30_000, saturated: true, backlog: 12 };
const decide = (over: Partial<ScaleSnapshot>) => decideScale({ ...early, ...over });

describe('threshold rule, early decision', () => {
  it('adds one worker before a full period when every slot is busy, jobs wait and utilization is above the threshold', () => {
    const d = decide({});
    expect(d).toMatchObject({ action: 'up', target: 3 });
    expect(d.reason).toMatch(/every slot busy and 12 jobs waiting: utilization 0\.90 > threshold 0\.50 over the 0\.8 s since the pool changed size/);
  });

  it.each([
    ['not saturated', { saturated: undefined }],
    ['no job waiting', { backlog: 0 }],
    ['backlog unknown (Redis unreadable)', { backlog: null }],
    ['utilization at the threshold', { utilization: 0.5 }],
    ['at max-workers', { workers: 4 }],
  ] as const)('holds when %s', (_what, over) => {
    const d = decide(over);
    expect(d).toMatchObject({ action: 'hold', target: (over as Partial<ScaleSnapshot>).workers ?? 2 });
  });

  it('never removes a worker early, however idle the measured time', () => {
    expect(decide({ utilization: 0.05 })).toMatchObject({ action: 'hold', target: 2 });
  });

  it('after a full period at this size (a long quiet spell), a saturated pool with jobs waiting steps up whatever the window says; without them the usual rule', () => {
    const up = decide({ measuredMs: 30_000, utilization: 0.1 });
    expect(up).toMatchObject({ action: 'up', target: 3 });
    expect(up.reason).toMatch(/every slot busy and \d+ jobs waiting \(utilization 0\.10 over the window\)/);
    expect(decide({ measuredMs: 30_000, utilization: 0.1, backlog: 0 })).toMatchObject({ action: 'down', target: 1 });
    expect(decide({ measuredMs: 30_000, utilization: 0.4, saturated: false })).toMatchObject({ action: 'hold', target: 2 });
  });

  it('over random ticks: within [min, max], one step at most, an early change only up and only when saturated with a backlog', () => {
    let seed = 7;
    const r = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let workers = 1;
    for (let i = 0; i < 5000; i++) {
      const s: ScaleSnapshot = { workers, minWorkers: 1, maxWorkers: 5, utilization: r() < 0.05 ? null : r(), threshold: 0.5, measuredMs: r() * 60_000, periodMs: 30_000, saturated: r() < 0.5, backlog: r() < 0.3 ? 0 : Math.floor(r() * 50) };
      const d = decideScale(s);
      expect(Math.abs(d.target - workers)).toBeLessThanOrEqual(1);
      expect(d.target).toBeGreaterThanOrEqual(1);
      expect(d.target).toBeLessThanOrEqual(5);
      if (s.measuredMs < s.periodMs && d.action !== 'hold') {
        expect(d.action).toBe('up');
        expect(s.saturated && (s.backlog ?? 0) > 0 && s.utilization! > s.threshold).toBe(true);
      }
      workers = d.target;
    }
  });
});

describe('CPU-saturation guard, early decision', () => {
  const cpu = { now: 60_000, hostCores: 2, hostCpuBusy: 0.5, finishedJobs: 100 };
  it('holds an early step on CPU-bound jobs (each step must be judged over a period), not on I/O-bound ones', () => {
    const held = withCpuGuard(decideScale)({ ...early, ...cpu, jobCpuShare: 0.9 });
    expect(held).toMatchObject({ action: 'hold', target: 2, guard: 'held' });
    expect(held.reason).toMatch(/cpu guard held the early step/);
    expect(withCpuGuard(decideScale)({ ...early, ...cpu, jobCpuShare: null })).toMatchObject({ action: 'hold', guard: 'held' });
    expect(withCpuGuard(decideScale)({ ...early, ...cpu, jobCpuShare: 0.1 })).toMatchObject({ action: 'up', target: 3 });
  });

  it('only the threshold rule decides early, and the wrappers say so', async () => {
    const { createAdaptivePolicy } = await import('../../src/policy/adaptive.js');
    expect(withCpuGuard(decideScale).decidesEarly).toBe(true);
    expect(withCpuGuard(createAdaptivePolicy({ maxStep: 2, stabilizationMs: 1000, drainTargetMs: 1000 })).decidesEarly).toBeFalsy();
  });
});

/** A slot list as the supervisor has it, from [state, busy, concurrency] per slot. */
function fakeSupervisor(slots: Array<[WorkerProcess['state'] | 'empty', number, number]>, desired = slots.length) {
  return {
    desired,
    slotList: () => slots.map(([state, busySlots, concurrency], i) => ({ name: `worker-${i + 1}`, worker: state === 'empty' ? undefined : ({ state, busySlots, concurrency } as WorkerProcess) }) as Slot),
  };
}

describe('saturation watch', () => {
  const watch = (slots: Array<[WorkerProcess['state'] | 'empty', number, number]>, clock = new ManualClock(), canGrow = () => true) => {
    const asked: number[] = [];
    let release: (() => void) | undefined;
    const w = new SaturationWatch({
      supervisor: fakeSupervisor(slots),
      canGrow,
      decide: () => (asked.push(clock.now()), new Promise<void>((r) => (release = r))),
      clock,
      minGapMs: 1000,
    });
    return { w, asked, clock, release: async () => (release?.(), await Promise.resolve(), await Promise.resolve()) };
  };

  it('is saturated only when every slot holds a running worker with all its job slots busy', () => {
    expect(watch([['running', 2, 2], ['running', 2, 2]]).w.saturated()).toBe(true);
    expect(watch([['running', 2, 2], ['running', 1, 2]]).w.saturated()).toBe(false);
    expect(watch([['running', 2, 2], ['starting', 0, 2]]).w.saturated()).toBe(false);
    expect(watch([['running', 2, 2], ['empty', 0, 2]]).w.saturated()).toBe(false);
    expect(watch([]).w.saturated()).toBe(false);
  });

  it('asks once every slot has been busy for a gap, at most once per gap, never while a decision is under way, and not when the pool cannot grow', async () => {
    const { w, asked, clock, release } = watch([['running', 1, 1]]);
    w.onSample(); // saturated from now: not yet for a whole gap
    clock.advance(999);
    w.onSample();
    expect(asked).toEqual([]);
    clock.advance(1);
    w.onSample();
    w.onSample(); // under way
    expect(asked).toEqual([1000]);
    await release();
    clock.advance(999);
    w.onSample(); // within the gap
    expect(asked).toEqual([1000]);
    clock.advance(1);
    w.onSample();
    expect(asked).toEqual([1000, 2000]);
    const atMax = watch([['running', 1, 1]], new ManualClock(), () => false);
    atMax.w.onSample();
    atMax.clock.advance(1000);
    atMax.w.onSample();
    expect(atMax.asked).toEqual([]);
  });

  it('starts counting again when a sample shows a free slot', () => {
    const slots: Array<[WorkerProcess['state'], number, number]> = [['running', 1, 1]];
    const { w, asked, clock } = watch(slots);
    w.onSample();
    clock.advance(600);
    slots[0]![1] = 0; // a free slot
    w.onSample();
    slots[0]![1] = 1;
    clock.advance(600);
    w.onSample(); // busy again, for 0 ms
    clock.advance(600);
    w.onSample(); // for 600 ms: not yet
    expect(asked).toEqual([]);
    clock.advance(400);
    w.onSample();
    expect(asked).toEqual([2200]);
  });
});

describe('ControlLoop.decideSaturated', () => {
  const loopWith = (policy: ScalePolicy, decidesEarly = true) => {
    const clock = new ManualClock();
    const state = { desired: 1 };
    const supervisor = {
      get desired() {
        return state.desired;
      },
      setDesired: (n: number) => (state.desired = n),
      reconcile: () => undefined,
      utilizationAtCurrentSize: () => ({ utilization: 1, measuredMs: 500 }),
    } as unknown as Supervisor;
    const seen: ScaleSnapshot[] = [];
    const asked: ScalePolicy = Object.assign((s: ScaleSnapshot) => (seen.push(s), policy(s)), { decidesEarly });
    const loop = new ControlLoop(supervisor, asked, { minWorkers: 1, maxWorkers: 3, threshold: 0.5, scalingPeriodMs: 60_000 }, clock, createLogger({ level: 'silent', pretty: false, base: {} }), {
      refresh: async () => undefined,
      signals: () => ({ backlog: 5 }),
    });
    return { loop, state, seen };
  };

  it('tells the policy the pool is saturated, and records a decision that changes the size', async () => {
    const { loop, state, seen } = loopWith(decideScale);
    loop.start();
    const record = await loop.decideSaturated();
    loop.stop();
    expect(seen[0]).toMatchObject({ saturated: true, measuredMs: 500, backlog: 5 });
    expect(record).toMatchObject({ action: 'up', workersBefore: 1, workersAfter: 2 });
    expect(loop.decisions).toHaveLength(1);
    expect(state.desired).toBe(2);
  });

  it('does not ask a policy that takes no early decisions (adaptive, latency)', async () => {
    const { loop, seen } = loopWith(decideScale, false);
    loop.start();
    expect(loop.decidesEarly).toBe(false);
    expect(await loop.decideSaturated()).toBeUndefined();
    loop.stop();
    expect(seen).toEqual([]);
  });

  it('records nothing when the policy holds, and a periodic tick sees no saturated flag', async () => {
    const { loop, seen } = loopWith(() => ({ action: 'hold', target: 1, reason: 'hold' }));
    loop.start();
    expect(await loop.decideSaturated()).toBeUndefined();
    expect(loop.decisions).toEqual([]);
    expect(loop.running).toBe(true); // the period goes on
    loop.tick();
    loop.stop();
    expect(seen[1]!.saturated).toBeUndefined();
  });
});
