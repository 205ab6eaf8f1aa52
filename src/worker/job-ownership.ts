/**
 * Which run owns a job: a child keys its runs by lock token, and a job handed back by a peer while
 * it runs here, then fetched again by this same child, runs twice at once under two tokens. The
 * run whose completion Redis refuses (the lock moved on) lost the job to a peer; BullMQ's lock
 * manager, which keeps one entry per job id, must go on renewing the newer run's lock.
 */
import { ErrorCode } from './bullmq.js';
import type { QueueSide } from './child-state.js';

/** BullMQ's lock manager's table of the locks it renews (private in its types). */
interface LockManagerInternals {
  trackedJobs?: Map<string, { token: string }>;
}

/**
 * Whether a completion (or failure) was refused because the job is no longer this run's: its lock is
 * gone or another's (a peer handed it back and it was taken again), or it left the active state.
 */
export function lostToPeer(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === ErrorCode.JobLockNotExist || code === ErrorCode.JobLockMismatch || code === ErrorCode.JobNotInState;
}

/** Stop renewing a run's lock, unless the job runs here again under a newer token (that run's entry stays). */
export function untrackRun(side: QueueSide, id: string, token: string): void {
  const tracked = (side.locks as unknown as LockManagerInternals).trackedJobs?.get(id);
  if (tracked === undefined || tracked.token === token) side.locks.untrackJob(id);
}
