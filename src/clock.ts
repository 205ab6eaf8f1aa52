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
