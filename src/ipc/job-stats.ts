/**
 * What a worker child tells the supervisor about the jobs it ran, gathered between two samples
 * instead of one message per job: per queue, jobs started, completed and failed, and their wait and
 * run times counted into the metrics' histogram buckets (sums in milliseconds).
 */

/** Upper bounds (seconds) of the job wait and run-time histograms, shared by child and supervisor. */
export const JOB_SECONDS_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** Observations counted per bucket (not cumulative; the last count is above every bound), and their sum. */
export interface TimeBuckets {
  counts: number[];
  sumMs: number;
}

/** One queue's jobs since the previous sample. */
export interface QueueJobStats {
  queue: string;
  started: number;
  completed: number;
  failed: number;
  /**
   * Runs that ended neither completed nor failed: the job moved itself (DelayedError, WaitingError,
   * WaitingChildrenError) or went back to waiting (RateLimitError). Absent: none.
   */
  moved?: number;
  /**
   * Runs whose completion (or failure) was refused because the job was no longer theirs: a peer
   * handed it back while it ran (its lock moved on). Not failures. Absent: none.
   */
  lost?: number;
  /** Enqueue (or the end of a delay) to start, of the jobs started. */
  wait: TimeBuckets;
  /** Run time of the jobs that completed, and of those that failed. */
  ranCompleted: TimeBuckets;
  ranFailed: TimeBuckets;
  /**
   * Waits (ms) of up to WAIT_SAMPLE_SIZE of the jobs started, drawn uniformly (each stands for
   * started / length jobs): for a percentile finer than the buckets, at a bounded size per sample.
   */
  waitSampleMs?: number[];
}

/** Most waits a sample carries per queue. */
export const WAIT_SAMPLE_SIZE = 32;

export function emptyBuckets(): TimeBuckets {
  return { counts: new Array<number>(JOB_SECONDS_BUCKETS.length + 1).fill(0), sumMs: 0 };
}

/** Count one observation of `ms` milliseconds. */
export function observeMs(b: TimeBuckets, ms: number): void {
  const s = ms / 1000;
  let i = 0;
  while (i < JOB_SECONDS_BUCKETS.length && s > JOB_SECONDS_BUCKETS[i]!) i++;
  b.counts[i]!++;
  b.sumMs += ms;
}

const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x >= 0;

function isBuckets(x: unknown): x is TimeBuckets {
  if (typeof x !== 'object' || x === null) return false;
  const b = x as Record<string, unknown>;
  return num(b['sumMs']) && Array.isArray(b['counts']) && b['counts'].length === JOB_SECONDS_BUCKETS.length + 1 && b['counts'].every(num);
}

export function isQueueJobStats(x: unknown): x is QueueJobStats {
  if (typeof x !== 'object' || x === null) return false;
  const s = x as Record<string, unknown>;
  return (
    typeof s['queue'] === 'string' && num(s['started']) && num(s['completed']) && num(s['failed']) && (s['moved'] === undefined || num(s['moved'])) && (s['lost'] === undefined || num(s['lost'])) &&
    isBuckets(s['wait']) && isBuckets(s['ranCompleted']) && isBuckets(s['ranFailed']) &&
    (s['waitSampleMs'] === undefined || (Array.isArray(s['waitSampleMs']) && s['waitSampleMs'].length <= WAIT_SAMPLE_SIZE && s['waitSampleMs'].every(num)))
  );
}
