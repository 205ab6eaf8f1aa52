import { describe, expect, it } from 'vitest';
import { createAdaptivePolicy } from '../../src/policy/adaptive.js';
import { decideScale } from '../../src/policy/threshold.js';
import { selectPolicy } from '../../src/policy/select.js';
import type { ScalePolicy } from '../../src/policy/types.js';
import { simulate, percentile, type SimPool } from '../../src/sim/simulate.js';
import { builtInTrace, parseTraceCsv, TraceError, type Trace } from '../../src/sim/traces.js';

const fixed = (n: number): ScalePolicy => () => ({ action: 'hold', target: n, reason: 'fixed' });

function pool(over: Partial<SimPool> = {}): SimPool {
  return { minWorkers: 1, maxWorkers: 1, concurrency: 1, scalingPeriod: 5, window: 5, threshold: 0.5, sampleInterval: 1, spawnSeconds: 0.25, workerMemoryMb: 67, ...over };
}

function trace(csv: string): Trace {
  return parseTraceCsv('arrival_seconds,duration_seconds,queue\n' + csv, 'test');
}

describe('simulate (hand-computed cases)', () => {
  it('one worker, three jobs: FIFO after the fork delay', async () => {
    // Ready at 0.25: job A 0.25–1.25, job B 1.25–2.25, job C (arrives 0.5) 2.25–4.25.
    const r = await simulate(trace('0,1,default\n0,1,default\n0.5,2,default'), pool(), fixed(1));
    expect(r.summary.jobs).toBe(3);
    expect(r.summary.finished).toBe(3);
    expect(r.summary.wait.p50).toBeCloseTo(1.25, 9);
    expect(r.summary.wait.max).toBeCloseTo(1.75, 9);
    expect(r.summary.wait.mean).toBeCloseTo((0.25 + 1.25 + 1.75) / 3, 9);
    expect(r.summary.workerSeconds).toBeCloseTo(4.25, 9);
    expect(r.summary.meanUtilization).toBeCloseTo(1, 9);
    expect(r.summary.scaleEvents).toBe(0);
  });

  it('strict queue order: a job of the first queue goes before an older one of the second', async () => {
    const r = await simulate(trace('0,1,low\n0.1,1,high\n0.1,1,low'), pool({ spawnSeconds: 0.5, queues: ['high', 'low'] }), fixed(1));
    // Ready at 0.5: high (wait 0.4) 0.5–1.5, first low (wait 1.5) 1.5–2.5, second low (wait 2.4).
    expect(r.summary.wait.max).toBeCloseTo(2.4, 9);
    expect(r.summary.wait.p50).toBeCloseTo(1.5, 9);
  });

  it('the threshold rule adds one worker on a saturated window and holds at exactly the threshold', async () => {
    // One 100 s job. Tick 5: utilization 1 → 2 workers. Tick 10: busy 5 of 10 slot-seconds = 0.5 → hold.
    const r = await simulate(trace('0,100,default'), pool({ maxWorkers: 3, spawnSeconds: 0 }), decideScale);
    expect(r.timeline[0]).toMatchObject({ t: 5, workersBefore: 1, workers: 2, action: 'up', utilization: 1 });
    expect(r.timeline[1]).toMatchObject({ t: 10, workers: 2, action: 'hold', utilization: 0.5 });
    expect(r.summary.scaleEvents).toBe(1);
    expect(r.summary.workerSeconds).toBeCloseTo(100 + 95, 9);
    expect(r.summary.pinnedAtMaxSeconds).toBe(0);
  });

  for (const [name, policy] of [['threshold', () => decideScale], ['adaptive', () => createAdaptivePolicy({ maxStep: 4, stabilizationMs: 30_000, drainTargetMs: 5000 })]] as const) {
    it(`${name}: from zero workers, wakes when a job arrives, as the daemon's arrival watch does`, async () => {
      // Job at 12 s; ticks at 5 and 10 hold at zero; the arrival at 12 s is decided at once (a
      // timeline row at 12 s) and starts a worker, ready at 12.25: the job waits 0.25 s.
      const r = await simulate(trace('12,1,default'), pool({ minWorkers: 0, maxWorkers: 2 }), policy());
      expect(r.timeline.slice(0, 3).map((t) => t.workers)).toEqual([0, 0, 1]);
      expect(r.timeline[2]!.t).toBe(12);
      expect(r.summary.wait.max).toBeCloseTo(0.25, 9);
      expect(r.summary.workerSeconds).toBeCloseTo(1.25, 9);
    });
  }

  it('with the CPU guard on and I/O-bound jobs, a saturated pool adds a worker before the period ends, as the daemon does', async () => {
    // 20 jobs of 10 s at 0 s. Worker 1 is ready at 0.25 s and takes one; its sample 20 ms later shows
    // every slot busy with jobs waiting. The saturation watch asks once every slot has been busy for
    // a sample interval (1 s): at its periodic sample at 2.25 s (the one at 1.25 s is 0.98 s after),
    // when the CPU guard also knows the jobs are I/O-bound (a worker's CPU share is measured between
    // two of its own samples). Worker 2 is ready at 2.5 s and busy; the next step comes at 4.25 s,
    // and the periodic decisions start from there.
    const policy = selectPolicy({ policy: 'threshold', maxStep: 1, stabilizationWindow: 0, scalingPeriod: 5, memoryBudgetMb: undefined });
    const r = await simulate(trace(Array.from({ length: 20 }, () => '0,10,default').join('\n')), pool({ maxWorkers: 3 }), policy);
    expect(r.timeline.slice(0, 3).map((t) => [t.workersBefore, t.workers])).toEqual([[1, 2], [2, 3], [3, 3]]);
    expect(r.timeline[0]!.t).toBeCloseTo(2.25, 9);
    expect(r.timeline[1]!.t).toBeCloseTo(4.25, 9);
    expect(r.timeline[2]!.t).toBeCloseTo(9.25, 9);
    expect(r.timeline[0]!.reason).toMatch(/^every slot busy and 19 jobs waiting/);
  });

  it('CPU-bound jobs on 2 simulated cores: the guard holds the pool at cores + 1 from what the daemon reads of the host; without it the pool climbs', async () => {
    // 90 jobs/s of 21 ms of CPU for a minute: 1.9 cores' worth. More processes than cores only stretch the jobs.
    const jobs = Array.from({ length: 90 * 60 }, (_, i) => ({ arrival: i / 90, duration: 0.021, queue: 'default', cpu: 1 }));
    const cpuTrace: Trace = { name: 'cpu', description: 'cpu', jobs, horizon: 60 };
    const settings = { policy: 'threshold', maxStep: 1, stabilizationWindow: 0, scalingPeriod: 5, memoryBudgetMb: undefined } as const;
    const cpuPool = pool({ maxWorkers: 8, window: 30, cores: 2 });
    const guarded = await simulate(cpuTrace, cpuPool, selectPolicy(settings));
    expect(guarded.summary.peakWorkers).toBe(3);
    expect(guarded.timeline.some((t) => /cpu guard held the step: host CPU \d+% of 2 cores, jobs CPU-bound/.test(t.reason))).toBe(true);
    const unguarded = await simulate(cpuTrace, cpuPool, selectPolicy({ ...settings, cpuGuard: false }));
    expect(unguarded.summary.peakWorkers).toBeGreaterThan(4);
  });

  it('scale-down drains: a busy worker finishes its job before it goes', async () => {
    // 2 fixed workers, then the policy asks for 1 at the first tick (5 s) while both run 8 s jobs.
    let calls = 0;
    const shrink: ScalePolicy = (s) => (calls++ === 0 ? { action: 'down', target: 1, reason: 't' } : { action: 'hold', target: s.workers, reason: 't' });
    const r = await simulate(trace('0,8,default\n0,8,default'), pool({ minWorkers: 2, maxWorkers: 2, spawnSeconds: 0 }), shrink);
    expect(r.summary.finished).toBe(2);
    expect(r.summary.wait.max).toBe(0);
    // Both workers live until 8 s (the drained one exits when its job ends): 16 worker-seconds.
    expect(r.summary.workerSeconds).toBeCloseTo(16, 9);
    expect(r.liveSteps).toEqual([[0, 2], [8, 1]]);
  });

  it('is deterministic: the same seed gives the same answer, another seed another trace', async () => {
    const a = await simulate(builtInTrace('heavy-tail', 7)!, pool({ maxWorkers: 6 }), decideScale);
    const b = await simulate(builtInTrace('heavy-tail', 7)!, pool({ maxWorkers: 6 }), decideScale);
    expect(b.summary).toEqual(a.summary);
    expect(builtInTrace('heavy-tail', 8)!.jobs.length).not.toBe(builtInTrace('heavy-tail', 7)!.jobs.length);
  });

  it('built-in traces have the shapes their names promise', () => {
    const spike = builtInTrace('spike')!;
    expect(spike.jobs.filter((j) => j.arrival === 10).length).toBeGreaterThanOrEqual(500);
    const demo = builtInTrace('rq-demo')!;
    expect(demo.jobs.every((j) => j.arrival < 90 && j.duration === 1)).toBe(true);
    expect(demo.jobs.length).toBeGreaterThan(140);
    expect(demo.jobs.length).toBeLessThan(220);
    expect(demo.horizon).toBe(180);
    const tail = builtInTrace('heavy-tail')!;
    const sorted = tail.jobs.map((j) => j.duration).sort((x, y) => x - y);
    expect(sorted[sorted.length - 1]! / percentile(sorted, 0.5)).toBeGreaterThanOrEqual(50);
  });

  it('percentile is nearest-rank', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.95)).toBe(4);
    expect(percentile([], 0.5)).toBe(0);
  });
});

describe('parseTraceCsv', () => {
  it('reads jobs with and without a queue column, sorted by arrival, skipping blank lines', () => {
    const t = parseTraceCsv('arrival_seconds,duration_seconds\n2,1\n\n0.5,0.25\n', 'x.csv');
    expect(t.jobs).toEqual([{ arrival: 0.5, duration: 0.25, queue: 'default' }, { arrival: 2, duration: 1, queue: 'default' }]);
    expect(t.horizon).toBe(2);
  });

  it.each([
    ['a,b\n1,1', /line 1: header must be/],
    ['arrival_seconds,duration_seconds\n1', /line 2: expected 2 or 3/],
    ['arrival_seconds,duration_seconds\nx,1', /line 2: arrival_seconds "x" is not a number/],
    ['arrival_seconds,duration_seconds\n1,-2', /line 2: duration_seconds "-2" is not a number ≥ 0/],
    ['arrival_seconds,duration_seconds\n', /no jobs/],
  ])('refuses %j with a message naming the line', (csv, message) => {
    expect(() => parseTraceCsv(csv, 'x.csv')).toThrow(TraceError);
    expect(() => parseTraceCsv(csv, 'x.csv')).toThrow(message);
  });
});
