import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { cpuBoundShare, DEFAULT_CPU_GUARD, withCpuGuard } from '../../src/policy/cpu-guard.js';
import { decideScale } from '../../src/policy/threshold.js';
import type { ScaleSnapshot } from '../../src/policy/types.js';

const PERIOD = 5000;

/** A snapshot on a 2-core host where the threshold rule wants one more worker (utilization 0.9). */
function snap(clock: ManualClock, over: Partial<ScaleSnapshot> = {}): ScaleSnapshot {
  return {
    workers: 2, minWorkers: 1, maxWorkers: 8, utilization: 0.9, threshold: 0.5, measuredMs: 30_000, periodMs: PERIOD,
    now: clock.now(), hostCores: 2, hostCpuBusy: 0.97, jobCpuShare: 0.9, finishedJobs: 0, ...over,
  };
}

describe('CPU-saturation guard: decision table', () => {
  it.each([
    // [host busy, job CPU share, workers, expected action, guard]
    ['saturated, CPU-bound, at cores + 1', 0.97, 0.9, 3, 'hold', 'held'],
    ['saturated, CPU-bound, above cores + 1', 0.95, 0.6, 5, 'hold', 'held'],
    ['nearly saturated (≥ 75%) past one worker per core, CPU-bound', 0.8, 0.9, 3, 'hold', 'held'],
    ['saturated, I/O-bound', 0.97, 0.1, 3, 'up', undefined],
    ['idle host, CPU-bound', 0.4, 0.9, 3, 'up', undefined],
    ['saturated, CPU-bound, at one worker per core (the step to cores + 1 is judged)', 0.97, 0.9, 2, 'up', undefined],
    ['saturated, CPU-bound, below one worker per core (judged)', 0.97, 0.9, 1, 'up', undefined],
    ['CPU unknown', null, null, 3, 'up', undefined],
  ] as const)('%s → %s', (_name, busy, share, workers, action, guard) => {
    const clock = new ManualClock(60_000);
    const policy = withCpuGuard(decideScale);
    const d = policy(snap(clock, { hostCpuBusy: busy, jobCpuShare: share, workers }));
    expect(d.action).toBe(action);
    expect(d.guard).toBe(guard);
    if (guard === 'held') {
      expect(d.target).toBe(workers);
      // The decision line carries the figures.
      expect(d.reason).toMatch(/cpu guard held the step: host CPU \d+% of 2 cores, jobs CPU-bound \(on or waiting for a CPU \d+%/);
    }
  });

  it('holds a CPU-bound pool past one worker per core when nothing waits: the window still averages the backlog just drained', () => {
    const clock = new ManualClock(60_000);
    const policy = withCpuGuard(decideScale);
    // The host's CPU dips below the saturation line as the backlog empties (the simulator's calibration trace).
    const drained = snap(clock, { workers: 3, utilization: 0.83, hostCpuBusy: 0.73, jobCpuShare: 1, backlog: 0 });
    const d = policy(drained);
    expect(d).toMatchObject({ action: 'hold', target: 3, guard: 'held' });
    expect(d.reason).toMatch(/cpu guard held the step: no job waiting and jobs CPU-bound \(on or waiting for a CPU 100% of their busy time\) with 3 workers on 2 cores/);
    // Jobs waiting, an I/O-bound pool, or one worker per core or fewer: the rule's step.
    expect(policy({ ...drained, backlog: 12 })).toMatchObject({ action: 'up', target: 4 });
    expect(policy({ ...drained, jobCpuShare: 0.1 })).toMatchObject({ action: 'up', target: 4 });
    expect(policy({ ...drained, workers: 2 })).toMatchObject({ action: 'up', target: 3 });
    // Redis unread (backlog unknown): nothing to say.
    expect(policy({ ...drained, backlog: null })).toMatchObject({ action: 'up', target: 4 });
  });

  it('passes every decision of the wrapped rule through unchanged when the guard has nothing to say', () => {
    const clock = new ManualClock(60_000);
    const policy = withCpuGuard(decideScale);
    for (const u of [0, 0.1, 0.3, 0.5, 0.6, 1]) {
      for (const workers of [1, 4, 8]) {
        const s = snap(clock, { utilization: u, workers, hostCpuBusy: 0.2, jobCpuShare: 0.05 });
        expect(policy(s)).toEqual(decideScale(s));
      }
    }
  });

  it('caps a policy that steps by several at once at cores + 1, with the figures', () => {
    const clock = new ManualClock(60_000);
    const fourAtOnce = withCpuGuard((x) => ({ action: 'up', target: x.workers + 4, reason: 'wants 5' }));
    const d = fourAtOnce(snap(clock, { workers: 1 }));
    expect(d).toMatchObject({ action: 'up', target: 3, guard: 'held' });
    expect(d.reason).toMatch(/wants 5; cpu guard capped the step at 3 workers: host CPU 97% of 2 cores/);
    // With CPU to spare: one worker using half the host, so two fill it, and one more.
    expect(fourAtOnce(snap(clock, { workers: 1, hostCpuBusy: 0.5 }))).toMatchObject({ target: 3, guard: 'held' });
    // On an I/O-bound pool the step is the policy's.
    expect(fourAtOnce(snap(clock, { workers: 1, jobCpuShare: 0.1 }))).toMatchObject({ target: 5 });
  });

  it('never holds the climb back to min-workers', () => {
    const clock = new ManualClock(60_000);
    const d = withCpuGuard(decideScale)(snap(clock, { workers: 1, minWorkers: 3 }));
    expect(d).toMatchObject({ action: 'up', target: 3 });
  });

  /** Drive one step 1→2 (below cores: let through) then the tick that judges it. */
  function stepAndJudge(rateBefore: number, rateAfter: number, busyAtJudge = 0.97, shareAtJudge = 0.9) {
    const clock = new ManualClock(0);
    const policy = withCpuGuard(decideScale);
    let finished = 0;
    // Two ticks at one worker: the completion rate before the step.
    policy(snap(clock, { workers: 1, utilization: 0.3, finishedJobs: finished }));
    clock.advance(PERIOD);
    finished += (rateBefore * PERIOD) / 1000;
    const up = policy(snap(clock, { workers: 1, finishedJobs: finished, measuredMs: 30_000 }));
    expect(up).toMatchObject({ action: 'up', target: 2 });
    // The new worker is ready 0.3 s later; the next tick has measured 4.7 s (< one period): not judged yet.
    clock.advance(PERIOD);
    finished += (rateAfter * PERIOD) / 1000;
    const first = policy(snap(clock, { workers: 2, finishedJobs: finished, measuredMs: PERIOD - 300, utilization: 0.7 }));
    expect(first.action).not.toBe('down');
    clock.advance(PERIOD);
    finished += (rateAfter * PERIOD) / 1000;
    return { judged: policy(snap(clock, { workers: 2, finishedJobs: finished, measuredMs: 2 * PERIOD - 300, utilization: 0.7, hostCpuBusy: busyAtJudge, jobCpuShare: shareAtJudge })), policy, clock, finished };
  }

  it('a step up that did not raise the completion rate while saturated and CPU-bound → step back, with the figures', () => {
    const { judged } = stepAndJudge(90, 88);
    expect(judged).toMatchObject({ action: 'down', target: 1, guard: 'reversed' });
    expect(judged.reason).toMatch(/cpu guard reversed step 1→2: completions 90\.0\/s → 88\.0\/s/);
    expect(judged.reason).toMatch(/host CPU 97% of 2 cores/);
  });

  it('a step up that raised the completion rate is kept', () => {
    const { judged } = stepAndJudge(50, 90);
    expect(judged.action).not.toBe('down');
    expect(judged.guard).not.toBe('reversed');
  });

  it('a step that did not help is kept when the host has CPU to spare or the jobs wait on I/O', () => {
    // Not saturated, or not CPU-bound: the rule's own decision (utilization 0.7: one more).
    expect(stepAndJudge(90, 88, 0.5).judged).toMatchObject({ action: 'up', target: 3 });
    expect(stepAndJudge(90, 88, 0.97, 0.1).judged).toMatchObject({ action: 'up', target: 3 });
  });

  it('after a step back, the same step is held for retryAfterMs, then tried again', () => {
    const { policy, clock, finished } = stepAndJudge(90, 88);
    // Back at one worker, measured for a full period; the host is less busy now (one worker), rule wants up.
    clock.advance(PERIOD);
    const held = policy(snap(clock, { workers: 1, finishedJobs: finished + 450, hostCpuBusy: 0.6, measuredMs: PERIOD }));
    expect(held).toMatchObject({ action: 'hold', target: 1, guard: 'held' });
    expect(held.reason).toMatch(/1→2 did not raise completions 5 s ago/);
    clock.advance(DEFAULT_CPU_GUARD.retryAfterMs);
    const again = policy(snap(clock, { workers: 1, finishedJobs: finished + 900, hostCpuBusy: 0.6, measuredMs: 30_000 }));
    expect(again).toMatchObject({ action: 'up', target: 2 });
  });

  it('over many random ticks, stays within [min, max] and changes by at most what the rule does, or steps back', () => {
    const clock = new ManualClock(0);
    const policy = withCpuGuard(decideScale);
    let seed = 7;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    let workers = 1;
    let finished = 0;
    for (let i = 0; i < 5000; i++) {
      clock.advance(PERIOD);
      finished += Math.floor(rnd() * 500);
      const s = snap(clock, { workers, utilization: rnd(), hostCpuBusy: rnd(), jobCpuShare: rnd() < 0.1 ? null : rnd(), finishedJobs: finished, measuredMs: rnd() * 20_000 });
      const d = policy(s);
      expect(d.target).toBeGreaterThanOrEqual(s.minWorkers);
      expect(d.target).toBeLessThanOrEqual(s.maxWorkers);
      expect(Math.abs(d.target - workers)).toBeLessThanOrEqual(1);
      if (d.guard === 'held') expect(d.target).toBe(workers);
      workers = d.target;
    }
  });
});

describe('cpuBoundShare', () => {
  it('counts the CPU the busy slots could have had, at most the cores', () => {
    // 8 workers busy for 1 s on 2 saturated cores using 1.9 cores: CPU-bound.
    expect(cpuBoundShare(1900, 8000, 2, 1000)).toBeCloseTo(0.95, 9);
    // One worker busy all the time, 0.9 of it on a CPU.
    expect(cpuBoundShare(900, 1000, 2, 1000)).toBeCloseTo(0.9, 9);
    // 8 workers sleeping on I/O.
    expect(cpuBoundShare(40, 8000, 2, 1000)).toBeCloseTo(0.02, 9);
    expect(cpuBoundShare(0, 0, 2, 1000)).toBeNull();
  });
});
