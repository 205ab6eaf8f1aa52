import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { UsageWindow } from '../../src/policy/usage-window.js';

/**
 * A simulated child: it knows which slots are busy and reports the cumulative busy counter at
 * each sample, exactly as run-worker does. The clock is driven by hand.
 */
class FakeWorker {
  private busyDone = 0;
  private readonly running = new Map<string, number>();
  constructor(
    readonly id: string,
    private readonly clock: ManualClock,
    private readonly window: UsageWindow,
    concurrency = 1,
  ) {
    window.workerStarted(id, clock.now(), concurrency);
  }
  startJob(job: string): void {
    this.running.set(job, this.clock.now());
  }
  endJob(job: string): void {
    this.busyDone += this.clock.now() - this.running.get(job)!;
    this.running.delete(job);
  }
  sample(): void {
    let busy = this.busyDone;
    for (const at of this.running.values()) busy += this.clock.now() - at;
    this.window.record(this.id, { at: this.clock.now(), busyMs: busy, busySlots: this.running.size });
  }
}

/** Advance the clock in 1 s steps, sampling every worker each second (as children do). */
function run(clock: ManualClock, workers: FakeWorker[], seconds: number): void {
  for (let i = 0; i < seconds; i++) {
    clock.advance(1000);
    for (const w of workers) w.sample();
  }
}

describe('UsageWindow', () => {
  it('is null until a worker has reported a sample', () => {
    const clock = new ManualClock();
    const window = new UsageWindow(30_000);
    expect(window.utilization(clock.now())).toBeNull();
    const w = new FakeWorker('a', clock, window);
    expect(window.utilization(clock.now())).toBeNull();
    run(clock, [w], 1);
    expect(window.utilization(clock.now())).toBe(0);
  });

  it('counts an idle worker as 0 and a fully busy one as 1', () => {
    const clock = new ManualClock();
    const window = new UsageWindow(10_000);
    const idle = new FakeWorker('idle', clock, window);
    const busy = new FakeWorker('busy', clock, window);
    busy.startJob('j');
    run(clock, [idle, busy], 20);
    expect(window.utilization(clock.now())).toBeCloseTo(0.5, 6);
    expect(window.totals(clock.now())).toEqual({ busyMs: 10_000, availableMs: 20_000 });
  });

  it('counts only the part inside the window of a long job that started before it', () => {
    const clock = new ManualClock();
    const window = new UsageWindow(30_000);
    const w = new FakeWorker('a', clock, window);
    run(clock, [w], 10); // idle 10 s
    w.startJob('long'); // t = 10 s
    run(clock, [w], 50); // busy until t = 60 s, still running
    // Window [30, 60]: busy the whole window (the job started at 10 s).
    expect(window.utilization(clock.now())).toBeCloseTo(1, 6);
    w.endJob('long');
    run(clock, [w], 15); // idle [60, 75]
    // Window [45, 75]: busy 15 s of 30.
    expect(window.utilization(clock.now())).toBeCloseTo(0.5, 6);
  });

  it('counts a job still running up to now, between samples too', () => {
    const clock = new ManualClock();
    const window = new UsageWindow(10_000);
    const w = new FakeWorker('a', clock, window);
    run(clock, [w], 10);
    w.startJob('j'); // t = 10 s
    run(clock, [w], 2); // t = 12 s, sampled while running
    clock.advance(500); // t = 12.5 s, no sample yet: extrapolated from the last one
    // Window [2.5, 12.5]: busy 2.5 s.
    expect(window.totals(clock.now()).busyMs).toBeCloseTo(2500, 6);
    expect(window.utilization(clock.now())).toBeCloseTo(0.25, 6);
  });

  it('counts a worker born and dead inside the window only while it lived', () => {
    const clock = new ManualClock();
    const window = new UsageWindow(30_000);
    const stays = new FakeWorker('stays', clock, window);
    run(clock, [stays], 40); // t = 40
    const brief = new FakeWorker('brief', clock, window); // born at 40
    brief.startJob('j');
    run(clock, [stays, brief], 5); // busy [40, 45]
    brief.endJob('j');
    brief.sample();
    window.workerExited('brief', clock.now()); // died at 45
    run(clock, [stays], 15); // t = 60
    // Window [30, 60]: stays 30 s available, brief 5 s available and 5 s busy.
    expect(window.totals(clock.now())).toEqual({ busyMs: 5000, availableMs: 35_000 });
    expect(window.utilization(clock.now())).toBeCloseTo(5 / 35, 6);
  });

  it('weighs slots by concurrency', () => {
    const clock = new ManualClock();
    const window = new UsageWindow(10_000);
    const w = new FakeWorker('a', clock, window, 4);
    w.startJob('1');
    w.startJob('2');
    w.startJob('3');
    run(clock, [w], 10);
    expect(window.utilization(clock.now())).toBeCloseTo(0.75, 6);
    w.endJob('3');
    run(clock, [w], 10);
    expect(window.utilization(clock.now())).toBeCloseTo(0.5, 6);
  });

  it('interpolates between samples when jobs start and end between them', () => {
    const clock = new ManualClock();
    const window = new UsageWindow(4000);
    const w = new FakeWorker('a', clock, window);
    run(clock, [w], 4); // t = 4000, idle
    clock.advance(250);
    w.startJob('j'); // 4250
    clock.advance(500);
    w.endJob('j'); // 4750
    clock.advance(250);
    w.sample(); // 5000: busy 500 in [4000, 5000]
    expect(window.totals(clock.now())).toEqual({ busyMs: 500, availableMs: 4000 });
  });

  it('measures only since a given moment when asked (the pool changed size)', () => {
    const clock = new ManualClock();
    const window = new UsageWindow(30_000);
    const a = new FakeWorker('a', clock, window);
    a.startJob('j');
    run(clock, [a], 20); // busy [0, 20]
    const b = new FakeWorker('b', clock, window); // a second worker at 20 s
    a.endJob('j');
    run(clock, [a, b], 10); // both idle [20, 30]
    expect(window.utilization(clock.now())).toBeCloseTo(20 / 40, 6);
    expect(window.utilization(clock.now(), 20_000)).toBe(0);
  });

  it('gives the same answer after pruning old samples', () => {
    const clock = new ManualClock();
    const window = new UsageWindow(5000);
    const w = new FakeWorker('a', clock, window, 2);
    for (let i = 0; i < 40; i++) {
      if (i % 3 === 0) w.startJob(`j${i}`);
      if (i % 3 === 2) w.endJob(`j${i - 2}`);
      run(clock, [w], 1);
    }
    const before = window.totals(clock.now());
    window.prune(clock.now());
    expect(window.totals(clock.now())).toEqual(before);
  });

  it('stays within [0, 1] even when a counter is misreported', () => {
    const clock = new ManualClock();
    const window = new UsageWindow(5000);
    window.workerStarted('a', 0, 1);
    clock.advance(1000);
    window.record('a', { at: 1000, busyMs: 5000, busySlots: 1 }); // more busy time than wall time
    clock.advance(1000);
    window.record('a', { at: 2000, busyMs: 100, busySlots: 0 }); // counter went backwards
    const u = window.utilization(clock.now());
    expect(u).not.toBeNull();
    expect(u!).toBeGreaterThanOrEqual(0);
    expect(u!).toBeLessThanOrEqual(1);
  });
});
