/**
 * What a simulation measures, from the simulated work's own record (when each job arrived and
 * started, how long each child lived and was busy) and from the control loop's decisions: the
 * waits, worker-seconds, utilization, the live workers over time and one timeline row per decision.
 */
import type { ScaleAction } from '../policy/types.js';
import type { DecisionRecord } from '../scaling/control-loop.js';

export interface TickRow {
  /** Seconds. */
  t: number;
  /** Work offered since the previous row, in busy slots (sum of arriving jobs' durations ÷ period). */
  offered: number;
  arrivals: number;
  workersBefore: number;
  workers: number;
  utilization: number | null;
  backlog: number;
  action: ScaleAction;
  reason: string;
}

export interface SimSummary {
  trace: string;
  jobs: number;
  finished: number;
  wait: { p50: number; p95: number; p99: number; max: number; mean: number };
  workerSeconds: number;
  meanUtilization: number;
  scaleEvents: number;
  reversals: number;
  pinnedAtMaxSeconds: number;
  durationSeconds: number;
  peakWorkers: number;
}

export interface SimResult {
  summary: SimSummary;
  timeline: TickRow[];
  /** Live workers (starting, running, draining) after each change: [seconds, count]. */
  liveSteps: Array<[number, number]>;
}

export class SimRecord {
  private readonly arrivalMs: Float64Array;
  private readonly startedMs: Float64Array;
  finished = 0;
  /** Jobs running now, in every child. */
  running = 0;
  private live = 0;
  private readySlots = 0;
  private at = 0;
  private workerMs = 0;
  private availableMs = 0;
  private busyMs = 0;
  private pinnedMs = 0;
  private peak = 0;
  private readonly liveSteps: Array<[number, number]> = [[0, 0]];
  private readonly timeline: TickRow[] = [];
  private periodWorkMs = 0;
  private periodArrivals = 0;
  private scaleEvents = 0;
  private reversals = 0;
  private lastDirection: 'up' | 'down' | undefined;

  constructor(
    private readonly trace: { name: string; jobs: ReadonlyArray<{ arrival: number }> },
    private readonly periodMs: number,
  ) {
    const n = trace.jobs.length;
    this.arrivalMs = Float64Array.from(trace.jobs, (j) => j.arrival * 1000);
    this.startedMs = new Float64Array(n).fill(-1);
  }

  /** Count the time since the last event, at the pool's state then; `pinned`: the pool wanted max-workers. */
  advance(to: number, pinned: boolean): void {
    const dt = to - this.at;
    if (dt <= 0) return;
    this.workerMs += this.live * dt;
    this.availableMs += this.readySlots * dt;
    this.busyMs += this.running * dt;
    if (pinned) this.pinnedMs += dt;
    this.at = to;
  }

  jobArrived(durationMs: number): void {
    this.periodWorkMs += durationMs;
    this.periodArrivals++;
  }

  jobStarted(index: number, at: number): void {
    this.startedMs[index] = at;
    this.running++;
  }

  /** A running job went back to its queue (its wait counts from its next start). */
  jobReturned(index: number): void {
    this.startedMs[index] = -1;
    this.running--;
  }

  jobEnded(): void {
    this.running--;
    this.finished++;
  }

  childStarted(at: number): void {
    this.live++;
    this.noteLive(at);
  }

  childReady(concurrency: number): void {
    this.readySlots += concurrency;
  }

  childEnded(at: number, readySlots: number): void {
    this.live--;
    this.readySlots -= readySlots;
    this.noteLive(at);
  }

  /** A decision of the control loop: a timeline row, and a scale event when it changed the size. */
  decision(d: DecisionRecord, at: number, backlog: number): void {
    if (d.workersAfter !== d.workersBefore) {
      this.scaleEvents++;
      const direction = d.workersAfter > d.workersBefore ? 'up' : 'down';
      if (this.lastDirection !== undefined && this.lastDirection !== direction) this.reversals++;
      this.lastDirection = direction;
    }
    this.timeline.push({ t: at / 1000, offered: this.periodWorkMs / this.periodMs, arrivals: this.periodArrivals, workersBefore: d.workersBefore, workers: d.workersAfter, utilization: d.utilization, backlog, action: d.action, reason: d.reason });
    this.periodWorkMs = 0;
    this.periodArrivals = 0;
  }

  result(): SimResult {
    const waits: number[] = [];
    for (let i = 0; i < this.startedMs.length; i++) if (this.startedMs[i]! >= 0) waits.push((this.startedMs[i]! - this.arrivalMs[i]!) / 1000);
    const sorted = Float64Array.from(waits).sort();
    const mean = waits.reduce((a, b) => a + b, 0) / Math.max(1, waits.length);
    return {
      summary: {
        trace: this.trace.name,
        jobs: this.trace.jobs.length,
        finished: this.finished,
        wait: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1]! : 0, mean },
        workerSeconds: this.workerMs / 1000,
        meanUtilization: this.availableMs > 0 ? this.busyMs / this.availableMs : 0,
        scaleEvents: this.scaleEvents,
        reversals: this.reversals,
        pinnedAtMaxSeconds: this.pinnedMs / 1000,
        durationSeconds: this.at / 1000,
        peakWorkers: this.peak,
      },
      timeline: this.timeline,
      liveSteps: this.liveSteps,
    };
  }

  private noteLive(at: number): void {
    this.peak = Math.max(this.peak, this.live);
    const last = this.liveSteps[this.liveSteps.length - 1]!;
    if (last[0] === at / 1000) last[1] = this.live;
    else if (last[1] !== this.live) this.liveSteps.push([at / 1000, this.live]);
  }
}

/** Nearest-rank percentile of sorted values (0 when empty). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}
