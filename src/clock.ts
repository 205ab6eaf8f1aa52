/**
 * Time, injected. `now()` is monotonic milliseconds for differences (windows, timeouts); `wallNow()`
 * is epoch milliseconds for what people read (decision timestamps). Tests pass a ManualClock.
 */
export interface Clock {
  now(): number;
  wallNow(): number;
}

export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
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
