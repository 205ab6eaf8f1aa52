/**
 * Time, injected. `now()` is monotonic milliseconds for differences (windows, timeouts); `wallNow()`
 * is epoch milliseconds for what people read (decision timestamps). Tests pass a ManualClock; the
 * simulator also passes Timers that fire on its virtual time.
 */
export interface Clock {
  now(): number;
  wallNow(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
};

/** One-shot timers, injected like the clock: the system's, or the simulator's on virtual time. */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};

export class ManualClock implements Clock {
  constructor(private t = 0, private readonly epoch = Date.UTC(2026, 0, 1)) {}
  now(): number {
    return this.t;
  }
  wallNow(): number {
    return this.epoch + this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
  set(ms: number): void {
    this.t = ms;
  }
}

/**
 * performance.now() and process.hrtime() read the same clock (libuv's uv_hrtime, CLOCK_MONOTONIC on
 * Linux); the difference between them is fixed for the life of a process.
 */
const HOST_MONOTONIC_OFFSET = (() => {
  // The first calls load code (tens of ms): warm both up, then keep the tightest of a few readings.
  performance.now();
  process.hrtime.bigint();
  let best = Infinity;
  for (let i = 0; i < 5; i++) {
    const p = performance.now();
    best = Math.min(best, Number(process.hrtime.bigint()) / 1e6 - p);
  }
  return best;
})();

/**
 * The host's monotonic clock in ms (CLOCK_MONOTONIC): the same number in every process of the host
 * at one instant, unlike performance.now(), which counts from each process's start. A supervisor
 * and its children compare lease deadlines on it.
 */
export function hostMonotonicMs(): number {
  return performance.now() + HOST_MONOTONIC_OFFSET;
}
