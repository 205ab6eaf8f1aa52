/**
 * WaitWindow: quantiles of how long jobs waited (arrival to start) over the last `windowMs`, in
 * bounded memory whatever the job rate: waits go into log-spaced buckets (10% wide) kept per tenth of
 * the window, so a quantile is exact to within one bucket. Pure: no clock, no I/O.
 */

const RATIO = 1.1;
const BUCKETS = 220; // 1.1^219 ms ≈ 13 days

function bucketOf(waitMs: number): number {
  if (!(waitMs > 1)) return 0;
  return Math.min(BUCKETS - 1, 1 + Math.floor(Math.log(waitMs) / Math.log(RATIO)));
}

/** The upper edge of a bucket (ms): a quantile is reported at most 10% above the true value. */
function upperOf(bucket: number): number {
  return bucket === 0 ? 1 : RATIO ** bucket;
}

export class WaitWindow {
  private readonly slots = new Map<number, Float64Array>();

  constructor(private windowMs: number) {
    if (!(windowMs > 0)) throw new RangeError(`window must be > 0 ms, got ${windowMs}`);
  }

  resize(windowMs: number): void {
    if (!(windowMs > 0)) throw new RangeError(`window must be > 0 ms, got ${windowMs}`);
    this.windowMs = windowMs;
  }

  private get slotMs(): number {
    return this.windowMs / 10;
  }

  /** A job started at `at` after waiting `waitMs` (or `count` jobs, when one wait stands for several). */
  record(at: number, waitMs: number, count = 1): void {
    const key = Math.floor(at / this.slotMs);
    let counts = this.slots.get(key);
    if (!counts) {
      counts = new Float64Array(BUCKETS);
      this.slots.set(key, counts);
      this.prune(at);
    }
    counts[bucketOf(waitMs)]! += count;
  }

  /** The q-quantile (0 < q ≤ 1) of the waits of jobs that started in the window ending at `now`; null when none. */
  quantile(now: number, q: number): number | null {
    this.prune(now);
    const from = Math.floor((now - this.windowMs) / this.slotMs);
    const total = new Float64Array(BUCKETS);
    let n = 0;
    for (const [key, counts] of this.slots) {
      if (key <= from) continue;
      for (let i = 0; i < BUCKETS; i++) {
        total[i]! += counts[i]!;
        n += counts[i]!;
      }
    }
    if (n === 0) return null;
    const rank = q * n;
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += total[i]!;
      if (seen >= rank) return upperOf(i);
    }
    return upperOf(BUCKETS - 1);
  }

  private prune(now: number): void {
    const from = Math.floor((now - this.windowMs) / this.slotMs);
    for (const key of this.slots.keys()) if (key <= from) this.slots.delete(key);
  }
}
