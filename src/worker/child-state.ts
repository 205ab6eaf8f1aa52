/**
 * What one worker child knows about itself, shared by its fetcher, job runner and reporter: the
 * jobs it runs, its counters, and whether it still takes jobs.
 */
import type { Job, LockManager, Worker } from 'bullmq';
import { JobTally } from './job-tally.js';

/** One of the child's queues: the BullMQ Worker that fetches from it and the locks it renews. */
export interface QueueSide {
  name: string;
  /** Its place in settings.queues (samples name queues by it). */
  index: number;
  worker: Worker;
  locks: LockManager;
  markerKey: string;
  /** The queue has a global concurrency limit (a job ending there wakes a waiting worker). */
  limited: boolean;
}

/** A job the child holds (active in Redis, locked with `token`). */
export interface Running {
  job: Job;
  queue: QueueSide;
  token: string;
  startedAt: number;
  /** The job's time limit (ms; 0: none). */
  limitMs: number;
  /** The number at the end of its token (`${tokenBase}:${n}`). */
  tokenSeq: number;
  /**
   * Its lock token: what tells two runs of one job apart (a job handed back by a peer while it runs
   * here, and fetched again by this same child, runs twice at once, each under its own token).
   */
  key: string;
}

export type RetireReason = 'max_jobs' | 'job_timeout';

export class ChildState {
  /** The jobs running now, by lock token (never by job id: see Running.key). */
  readonly running = new Map<string, Running>();
  /** The AbortController of each running job's processor signal, by lock token (cancel, time limit, hand-back). */
  readonly aborts = new Map<string, AbortController>();
  /** Jobs started and ended since the last sample, per queue (sent with it). */
  readonly tally = new JobTally();
  /** Busy slot-milliseconds of the jobs that have ended. */
  busyDoneMs = 0;
  processed = 0;
  failed = 0;
  /** Jobs this child has started (for --max-jobs-per-worker). */
  started = 0;
  draining = false;
  exiting = false;
  /** Set once the child asked to be replaced: it takes no more jobs but runs its own to the end. */
  retiring: RetireReason | undefined;
  /**
   * Fetches of the fetch loop under way. Each holds a free slot until it ends, and may still move a
   * job to active, which must then run, not be abandoned.
   */
  loopFetches = 0;
  /** Completions under way that may take the next job with them (fetchNext). */
  nextFetches = 0;
  /** Times the main connection closed: a fetch that spans one may have run twice in Redis. */
  connectionLosses = 0;
  /** Fetches that failed (READONLY, NOPERM, Redis down), reported in samples for readiness. */
  fetchErrors = 0;
  /** The fleet lease (see lease-fence.ts): no job is taken once it no longer holds. */
  lease: { holds(): boolean } | undefined;
  /** The number of the last lock token made (`${tokenBase}:${tokenSeq}`), reported in samples. */
  tokenSeq = 0;

  constructor(
    private readonly tokenBase: string,
    private readonly maxJobs: number,
  ) {}

  /** A new lock token. Every one is `${tokenBase}:${n}`, so the supervisor finds this child's jobs if it dies. */
  nextToken(): string {
    return `${this.tokenBase}:${++this.tokenSeq}`;
  }

  /** Busy slot-milliseconds up to `now`, jobs still running included. */
  busyMs(now: number): number {
    let ms = this.busyDoneMs;
    for (const r of this.running.values()) ms += now - r.startedAt;
    return ms;
  }

  /**
   * How many more jobs this child may take: none while draining, retiring or exiting, or past its
   * fleet lease; within
   * --max-jobs-per-worker, counting every fetch under way as a job (so the quota stays exact).
   */
  jobsLeft(): number {
    if (this.draining || this.retiring || this.exiting || (this.lease !== undefined && !this.lease.holds())) return 0;
    if (this.maxJobs <= 0) return Infinity;
    return this.maxJobs - this.started - this.nextFetches - this.loopFetches;
  }
}
