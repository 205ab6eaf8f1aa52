/**
 * UsageWindow: how busy the pool's slots were over the last `windowMs`, computed exactly from
 * cumulative busy counters that children report (busy slot-milliseconds, in-flight time included).
 *
 * Each worker's cumulative busy time B(t) is known at its sample points and is linear between them;
 * after its newest sample it grows by `busySlots` per millisecond (the jobs that were running then).
 * Busy time inside [start, end] is then B(end) - B(start), so a job that began before the window
 * counts only its part inside it and a job still running counts up to now. Available time counts each
 * worker only while it was alive inside the window, times its concurrency. Pure: no clock, no I/O.
 */

export interface UsageSample {
  /** When the supervisor received the sample (its monotonic clock, ms). */
  at: number;
  /** Cumulative busy slot-milliseconds since the worker became ready, running jobs included. */
  busyMs: number;
  /** Jobs running at the moment of the sample. */
  busySlots: number;
}

interface WorkerTrack {
  concurrency: number;
  bornAt: number;
  diedAt: number | undefined;
  /** Sorted by `at`; the first is the implicit zero sample at birth. */
  samples: UsageSample[];
}

export interface UsageTotals {
  busyMs: number;
  availableMs: number;
}

export class UsageWindow {
  private readonly workers = new Map<string, WorkerTrack>();

  constructor(private windowMs: number) {
    if (!(windowMs > 0)) throw new RangeError(`window must be > 0 ms, got ${windowMs}`);
  }

  get window(): number {
    return this.windowMs;
  }

  resize(windowMs: number): void {
    if (!(windowMs > 0)) throw new RangeError(`window must be > 0 ms, got ${windowMs}`);
    this.windowMs = windowMs;
  }

  /** A worker became ready to take jobs at `at`. */
  workerStarted(id: string, at: number, concurrency: number): void {
    this.workers.set(id, {
      concurrency,
      bornAt: at,
      diedAt: undefined,
      samples: [{ at, busyMs: 0, busySlots: 0 }],
    });
  }

  /** A sample from a live worker. Samples older than the newest one are ignored. */
  record(id: string, sample: UsageSample): void {
    const track = this.workers.get(id);
    if (!track || track.diedAt !== undefined) return;
    const last = track.samples[track.samples.length - 1]!;
    if (sample.at < last.at) return;
    // A counter never goes backwards; clamp a misreport instead of producing negative busy time.
    const busyMs = Math.max(sample.busyMs, last.busyMs);
    track.samples.push({ at: sample.at, busyMs, busySlots: Math.max(0, Math.min(sample.busySlots, track.concurrency)) });
  }

  /** The worker stopped at `at`; it keeps counting for the part of the window it was alive. */
  workerExited(id: string, at: number): void {
    const track = this.workers.get(id);
    if (!track || track.diedAt !== undefined) return;
    const last = track.samples[track.samples.length - 1]!;
    track.diedAt = Math.max(at, last.at);
  }

  /** True once at least one live worker has reported a real sample (not only its birth). */
  hasSamples(): boolean {
    for (const track of this.workers.values()) {
      if (track.diedAt === undefined && track.samples.length > 1) return true;
    }
    return false;
  }

  /** Busy and available slot-milliseconds over [max(now - window, since), now]. */
  totals(now: number, since = -Infinity): UsageTotals {
    const start = Math.max(now - this.windowMs, since);
    let busyMs = 0;
    let availableMs = 0;
    for (const track of this.workers.values()) {
      const from = Math.max(start, track.bornAt);
      const to = Math.min(now, track.diedAt ?? now);
      if (to <= from) continue;
      busyMs += busyAt(track, to) - busyAt(track, from);
      availableMs += (to - from) * track.concurrency;
    }
    return { busyMs, availableMs };
  }

  /**
   * busy ÷ available over the window (or over [since, now] when that is shorter), in [0, 1]; null
   * before any worker has reported a sample or when no slot was available.
   */
  utilization(now: number, since = -Infinity): number | null {
    if (!this.hasSamples()) return null;
    const { busyMs, availableMs } = this.totals(now, since);
    if (availableMs <= 0) return null;
    return Math.min(1, Math.max(0, busyMs / availableMs));
  }

  /** Forget what can no longer fall inside any window ending at or after `now`. */
  prune(now: number): void {
    const start = now - this.windowMs;
    for (const [id, track] of this.workers) {
      if (track.diedAt !== undefined && track.diedAt <= start) {
        this.workers.delete(id);
        continue;
      }
      // Keep the newest sample at or before the window start: it anchors the interpolation.
      let keepFrom = 0;
      for (let i = 0; i < track.samples.length; i++) {
        if (track.samples[i]!.at <= start) keepFrom = i;
        else break;
      }
      if (keepFrom > 0) track.samples.splice(0, keepFrom);
    }
  }
}

/** Cumulative busy time of one worker at time t (t within its life). */
function busyAt(track: WorkerTrack, t: number): number {
  const samples = track.samples;
  const first = samples[0]!;
  if (t <= first.at) return first.busyMs;
  // Binary search for the last sample at or before t.
  let lo = 0;
  let hi = samples.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (samples[mid]!.at <= t) lo = mid;
    else hi = mid - 1;
  }
  const a = samples[lo]!;
  const b = samples[lo + 1];
  if (b === undefined) {
    // After the newest sample: the jobs running then keep the slots busy.
    return a.busyMs + a.busySlots * (t - a.at);
  }
  const span = b.at - a.at;
  if (span <= 0) return b.busyMs;
  return a.busyMs + ((b.busyMs - a.busyMs) * (t - a.at)) / span;
}
