/**
 * JobCpuMeter: how CPU-bound a pool's jobs were over a span, for the CPU-saturation guard, measured
 * per worker between two of its own samples, so that its CPU time, its busy time and its time
 * waiting runnable for a CPU (/proc/PID/schedstat, read as the sample arrives) all cover the same
 * stretch of its life. A worker's first sample is the baseline of all three: a just-forked worker's
 * busy time does not count before its CPU time does, and neither counts the CPU it spent loading.
 */
import { cpuBoundShare } from '../policy/cpu-guard.js';

interface Point {
  /** The child's clock (ms), as its sample says. */
  at: number;
  cpuMs: number;
  busyMs: number;
  /** Run-queue wait so far (ms); undefined where the kernel does not say. */
  waitMs: number | undefined;
}

/** All workers' deltas so far, as of one moment (the supervisor's clock). */
interface Totals {
  at: number;
  cpuMs: number;
  waitMs: number;
  busyMs: number;
  /** Deltas whose run-queue wait was not known (then the share is judged on CPU time alone). */
  waitUnknown: number;
}

export interface JobCpuMeterOptions<W = number> {
  /** How long the history of totals is kept (ms): the longest span asked about. */
  keepMs: number;
  /** A worker's samples closer together than this (its clock, ms) are folded into the next one: at most one schedstat read per gap. */
  minGapMs: number;
  /** Time waiting runnable for a CPU so far (ms) of a worker (its pid, or the worker itself); undefined where unknown. */
  readWait(worker: W): number | undefined;
}

export class JobCpuMeter<W = number> {
  private readonly last = new Map<string, Point>();
  private totals: Totals = { at: -Infinity, cpuMs: 0, waitMs: 0, busyMs: 0, waitUnknown: 0 };
  private readonly history: Totals[] = [];
  private pruned = false;

  constructor(private readonly opts: JobCpuMeterOptions<W>) {}

  /** A worker's sample: its cumulative CPU (µs, process.cpuUsage()) and busy slot-time (ms) at its time `at`. */
  sample(key: string, worker: W | undefined, s: { at: number; busyMs: number; cpu?: { user: number; system: number } }, now: number): void {
    if (!s.cpu) return;
    const prev = this.last.get(key);
    if (prev && s.at - prev.at < this.opts.minGapMs) return;
    const point: Point = { at: s.at, cpuMs: (s.cpu.user + s.cpu.system) / 1000, busyMs: s.busyMs, waitMs: worker === undefined ? undefined : this.opts.readWait(worker) };
    this.last.set(key, point);
    if (!prev) return; // the baseline
    const t = { ...this.totals, at: now };
    t.cpuMs += Math.max(0, point.cpuMs - prev.cpuMs);
    // A process runs its jobs on one thread: its busy slot-time counts at most its wall time.
    t.busyMs += Math.min(Math.max(0, point.busyMs - prev.busyMs), Math.max(0, point.at - prev.at));
    if (point.waitMs !== undefined && prev.waitMs !== undefined) t.waitMs += Math.max(0, point.waitMs - prev.waitMs);
    else t.waitUnknown++;
    this.totals = t;
    this.history.push(t);
    while (this.history.length > 1 && this.history[1]!.at <= now - this.opts.keepMs) {
      this.history.shift();
      this.pruned = true;
    }
  }

  /** The worker is gone: its next sample (a new process under the same key) is a new baseline. */
  forget(key: string): void {
    this.last.delete(key);
  }

  /**
   * (CPU time + run-queue wait) ÷ busy time of the workers between `from` and now (see
   * cpuBoundShare; on CPU time alone, against the cores, where the wait is not known); null when
   * nothing was busy.
   */
  shareSince(from: number, now: number, cores: number): number | null {
    const end = this.totals;
    // The totals as of `from`: the newest kept at or before it; none kept: nothing had happened yet,
    // unless older ones were dropped (then the oldest kept, which is as far back as it can go).
    let base: Totals = this.pruned && this.history[0] ? this.history[0] : { at: from, cpuMs: 0, waitMs: 0, busyMs: 0, waitUnknown: 0 };
    for (const h of this.history) {
      if (h.at > from) break;
      base = h;
    }
    const waitKnown = end.waitUnknown === base.waitUnknown;
    return cpuBoundShare(end.cpuMs - base.cpuMs, end.busyMs - base.busyMs, cores, Math.max(0, now - Math.max(from, base.at)), waitKnown ? end.waitMs - base.waitMs : undefined);
  }
}
