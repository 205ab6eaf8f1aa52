/**
 * When to restart a worker slot whose child keeps failing to start (supervisord's idea, without
 * needing a person): 1 s, 2 s, 4 s … capped; after `retries` failed starts in a row the slot is
 * fatal until a cooldown passes. A child that ran past `startSeconds` resets the count. Pure.
 */
export interface BackoffOptions {
  /** A child that lived less than this (ms), or never became ready, failed to start. */
  startMs: number;
  /** Failed starts in a row before the slot is fatal. */
  retries: number;
  baseMs: number;
  capMs: number;
  /** How long a fatal slot waits before trying again. */
  fatalCooldownMs: number;
}

export const DEFAULT_BACKOFF: BackoffOptions = {
  startMs: 1000,
  retries: 5,
  baseMs: 1000,
  capMs: 60_000,
  fatalCooldownMs: 300_000,
};

export interface SlotHealth {
  failedStarts: number;
}

export type RestartPlan =
  | { kind: 'restart'; atMs: number; failedStarts: number }
  | { kind: 'fatal'; untilMs: number; failedStarts: number };

/** What to do after a child of this slot exited unexpectedly at `now`. */
export function planRestart(opts: BackoffOptions, health: SlotHealth, exit: { now: number; livedMs: number; becameReady: boolean }): RestartPlan {
  const failedStart = !exit.becameReady || exit.livedMs < opts.startMs;
  if (!failedStart) return { kind: 'restart', atMs: exit.now, failedStarts: 0 };
  const failedStarts = health.failedStarts + 1;
  if (failedStarts >= opts.retries) return { kind: 'fatal', untilMs: exit.now + opts.fatalCooldownMs, failedStarts };
  const delay = Math.min(opts.capMs, opts.baseMs * 2 ** (failedStarts - 1));
  return { kind: 'restart', atMs: exit.now + delay, failedStarts };
}
