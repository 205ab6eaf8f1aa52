/** Time limits: the longest a Node timer can wait, a sleep, and a bound on how long a promise may take. */

/**
 * The longest delay a Node timer can wait: 2^31−1 ms (about 24.8 days). A longer one fires after
 * 1 ms, so every duration the pool sets is bounded by this (in the schema) or clamped to it.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Whole seconds, so that the bound reads simply in error messages. */
export const MAX_TIMER_SECONDS = Math.floor(MAX_TIMER_MS / 1000);

/** A delay in ms that a timer waits for as long as asked, up to the longest it can. */
export function clampTimerMs(ms: number): number {
  return Math.min(ms, MAX_TIMER_MS);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `p`, or a rejection with `message` once `ms` have passed without an answer (the timer never outlives the race). */
export function withTimeout<T>(p: Promise<T>, ms: number, message = `timed out after ${ms} ms`): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)));
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Wait for `p`, but no longer than `ms` (at least `floorMs`): resolves to whether it settled in time.
 * A rejection counts as settled. For the steps of a stop, none of which may hold it past its deadline.
 */
export async function settledWithin(p: Promise<unknown>, ms: number, floorMs = 0): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), Math.max(floorMs, ms))));
  try {
    return await Promise.race([p.then(() => true as const, () => true as const), late]);
  } finally {
    clearTimeout(timer);
  }
}
