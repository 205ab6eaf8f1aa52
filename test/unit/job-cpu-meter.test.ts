/**
 * Issue 25, item 7: how CPU-bound the jobs are is measured per worker between two of its own
 * samples, CPU time, busy time and run-queue wait over the same span, with the first sample as the
 * baseline of all three.
 */
import { describe, expect, it } from 'vitest';
import { JobCpuMeter } from '../../src/scaling/job-cpu-meter.js';

/** A worker whose samples say: at child time `at`, `busyMs` of slot-time, `cpuMs` of CPU; its schedstat wait is `waits[pid]`. */
function rig(minGapMs = 0) {
  const waits = new Map<number, number | undefined>();
  const meter = new JobCpuMeter({ keepMs: 60_000, minGapMs, readWait: (pid) => waits.get(pid) });
  const sample = (key: string, pid: number, at: number, busyMs: number, cpuMs: number, waitMs: number | undefined, now = at) => {
    waits.set(pid, waitMs);
    meter.sample(key, pid, { at, busyMs, cpu: { user: cpuMs * 1000, system: 0 } }, now);
  };
  return { meter, sample };
}

describe('JobCpuMeter', () => {
  it('a CPU-bound worker on a crowded host: on a CPU or waiting for one all its busy time', () => {
    const { meter, sample } = rig();
    sample('w1', 1, 0, 0, 100, 0);
    sample('w1', 1, 1000, 1000, 600, 400); // 500 ms on a core, 400 ms queued, 100 ms between jobs
    expect(meter.shareSince(0, 1000, 2)).toBeCloseTo(0.9, 9);
  });

  it('a just-forked worker: busy time before its first sample does not count, nor its start-up CPU', () => {
    const { meter, sample } = rig();
    sample('w1', 1, 0, 0, 0, 0);
    sample('w1', 1, 1000, 1000, 700, 300);
    // Its first sample already says 180 ms busy and 150 ms of CPU spent loading: the baseline.
    sample('w2', 2, 5000, 180, 150, 20, 1000);
    expect(meter.shareSince(0, 1000, 2)).toBeCloseTo(1, 9);
    sample('w2', 2, 5200, 380, 250, 120, 1200);
    expect(meter.shareSince(1000, 1200, 2)).toBeCloseTo(1, 9);
  });

  it('an I/O-bound worker: mostly asleep while busy', () => {
    const { meter, sample } = rig();
    sample('w1', 1, 0, 0, 0, 0);
    sample('w1', 1, 1000, 1000, 50, 10);
    expect(meter.shareSince(0, 1000, 2)).toBeCloseTo(0.06, 9);
  });

  it('a worker runs its jobs on one thread: ten busy slots of CPU-bound jobs are one core, not a tenth', () => {
    const { meter, sample } = rig();
    sample('w1', 1, 0, 0, 0, 0);
    sample('w1', 1, 1000, 10_000, 950, 50);
    expect(meter.shareSince(0, 1000, 2)).toBeCloseTo(1, 9);
  });

  it('where the run-queue wait is unknown, CPU time against what the cores could give', () => {
    const { meter, sample } = rig();
    for (const [k, pid] of [['a', 1], ['b', 2], ['c', 3], ['d', 4]] as const) sample(k, pid, 0, 0, 0, undefined);
    // Four busy workers on 2 saturated cores get 0.5 s of CPU each per second: 2 cores of 2.
    for (const [k, pid] of [['a', 1], ['b', 2], ['c', 3], ['d', 4]] as const) sample(k, pid, 1000, 1000, 500, undefined);
    expect(meter.shareSince(0, 1000, 2)).toBeCloseTo(1, 9);
  });

  it('a span counts only the samples after its start; nothing busy is null; a new process under a key starts a new baseline', () => {
    const { meter, sample } = rig();
    expect(meter.shareSince(0, 1000, 2)).toBeNull();
    sample('w1', 1, 0, 0, 0, 0);
    sample('w1', 1, 1000, 1000, 100, 0); // I/O-bound first
    sample('w1', 1, 2000, 2000, 1000, 0, 2000); // then CPU-bound
    expect(meter.shareSince(1000, 2000, 2)).toBeCloseTo(0.9, 9);
    expect(meter.shareSince(0, 2000, 2)).toBeCloseTo(0.5, 9);
    meter.forget('w1');
    sample('w1', 9, 10, 0, 0, 0, 2100); // a new child: its counters start again
    sample('w1', 9, 1010, 1000, 20, 0, 3100);
    expect(meter.shareSince(2000, 3100, 2)).toBeCloseTo(0.02, 9);
  });

  it('samples closer than the gap fold into the next: at most one wait read per gap', () => {
    const reads: number[] = [];
    const meter = new JobCpuMeter({ keepMs: 60_000, minGapMs: 100, readWait: (pid) => (reads.push(pid), 0) });
    for (let at = 0; at <= 1000; at += 20) meter.sample('w1', 1, { at, busyMs: at, cpu: { user: at * 1000, system: 0 } }, at);
    expect(reads).toHaveLength(11);
    expect(meter.shareSince(0, 1000, 2)).toBeCloseTo(1, 9);
  });
});
