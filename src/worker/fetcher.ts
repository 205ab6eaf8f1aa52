/**
 * The fetch loop of a worker child: fills its free slots with jobs from its queues in strict
 * order, never taking more jobs than there are free slots, and blocks on the queues' BullMQ
 * marker keys (one BZPOPMIN on all of them) when every queue is empty.
 *
 * Jobs are fetched by hand (BullMQ's manual-fetch API). Several fetches go out at once when
 * several slots are free; each tries the queues in the order listed, and Redis runs them one after
 * another, so a job of a later queue is taken only when the queues before it were empty at that
 * moment, as with one fetch at a time.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { WorkerSettings } from '../ipc/messages.js';
import { isConnectionError } from '../redis/connection-error.js';
import type { Logger } from '../observe/logger.js';
import type { ChildState, QueueSide } from './child-state.js';
import type { ParentPort } from './reporter.js';
import { sleep } from './timeouts.js';

/** BullMQ Worker internals the manual-fetch API needs (protected in its types). */
export interface WorkerInternals {
  /** Turns a fetch's reply into a Job, as getNextJob does (and schedules a repeatable job's next run). */
  nextJobFromJobData(jobData?: unknown, jobId?: string, token?: string): Promise<Job | undefined>;
  /** When the next delayed job is due (epoch ms), as of the last fetch. */
  blockUntil?: number;
  /** Until when (epoch ms) the queue is rate-limited (its limiter, or a processor's RateLimitError): getNextJob takes nothing before. */
  limitUntil?: number;
}

/** Longest a blocked fetch waits before looking at the queues again (delayed jobs, lost markers). */
const MAX_BLOCK_SECONDS = 5;
const REDIS_RETRY_MS = 1000;

export interface FetcherDeps {
  settings: WorkerSettings;
  state: ChildState;
  sides: readonly QueueSide[];
  /** The connection that blocks on the markers (its own, since BZPOPMIN holds it). */
  blocking: Redis;
  port: ParentPort;
  log: Logger;
  /** Start running a job this child now holds. Must count it as running in the same turn. */
  runJob(job: Job, side: QueueSide, token: string): void;
}

export class Fetcher {
  /** How many fetches the loop sends at once next: doubles while each finds a job, back to 1 when one does not. */
  private batch = 1;
  private slotFreed: (() => void) | undefined;

  constructor(private readonly deps: FetcherDeps) {}

  /** A slot came free (or the child stopped taking jobs): look again now. */
  wake(): void {
    this.slotFreed?.();
  }

  /** Fill the free slots until the child stops taking jobs. */
  async run(): Promise<void> {
    const { state, settings, log } = this.deps;
    while (!state.draining) {
      const n = Math.min(this.batch, settings.concurrency - state.running.size - state.loopFetches, state.jobsLeft());
      if (n <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        this.slotFreed = undefined;
        continue;
      }
      state.loopFetches += n;
      const rounds = await Promise.allSettled(Array.from({ length: n }, () => this.fetchOne()));
      let found = 0;
      let dueAt = 0;
      let failure: Error | undefined;
      for (const r of rounds) {
        if (r.status === 'rejected') failure = r.reason as Error;
        else if (r.value.found) found++;
        else if (r.value.dueAt > 0 && (dueAt === 0 || r.value.dueAt < dueAt)) dueAt = r.value.dueAt;
      }
      this.batch = found === n ? Math.min(n * 2, settings.concurrency) : 1;
      if (state.draining) break;
      if (failure && found === 0) {
        state.fetchErrors++;
        log[isConnectionError(failure) ? 'debug' : 'warn']({ err: failure.message }, 'fetching a job failed; retrying');
        await sleep(REDIS_RETRY_MS);
        continue;
      }
      if (found < n && !failure) await this.waitForWork(dueAt);
    }
  }

  /** One fetch of the loop: runs the job it finds at once, and gives its slot back either way. */
  private async fetchOne(): Promise<{ found: boolean; dueAt: number }> {
    try {
      const { fetched, dueAt } = await this.fetchInOrder();
      // Run it even if a drain arrived meanwhile: the job is already ours (active, locked).
      if (fetched) this.deps.runJob(fetched.job, fetched.side, fetched.token);
      return { found: fetched !== undefined, dueAt };
    } finally {
      // In the same turn as runJob's bookkeeping: the slot passes from the fetch to the job.
      this.deps.state.loopFetches--;
    }
  }

  /**
   * The first job found, trying the queues in the order they are listed; else when the next
   * delayed job of any queue is due (epoch ms, 0: none), to cap the wait.
   */
  private async fetchInOrder(): Promise<{ fetched?: { job: Job; side: QueueSide; token: string }; dueAt: number }> {
    const { state, port } = this.deps;
    let dueAt = 0;
    for (const side of this.deps.sides) {
      if (state.draining) break;
      // The supervisor knows the token base: if this child dies before reporting the job this fetch
      // takes, it still finds the job by its lock and hands it back.
      const token = state.nextToken();
      const losses = state.connectionLosses;
      let job: Job | undefined;
      try {
        job = await side.worker.getNextJob(token, { block: false });
      } finally {
        // The connection dropped mid-fetch: Redis may have run the fetch, lost the reply, and run it
        // again on reconnect, leaving a job locked with this token that nobody runs. Have the
        // supervisor return any such job now instead of after lock-duration + stalled-interval.
        if (state.connectionLosses !== losses) port.send({ type: 'fetch-uncertain', queue: side.name, token, keep: job?.id ?? '' });
      }
      if (job) return { fetched: { job, side, token }, dueAt };
      // BullMQ remembers when the next delayed job is due, and until when the queue is rate-limited; wake for either.
      const w = side.worker as unknown as WorkerInternals;
      for (const due of [w.blockUntil ?? 0, w.limitUntil ?? 0]) if (due > 0 && (dueAt === 0 || due < dueAt)) dueAt = due;
    }
    return { dueAt };
  }

  /** Block until any queue signals a job (BullMQ's marker), a delayed job is due, or a bound passes. */
  private async waitForWork(dueAt: number): Promise<void> {
    const { blocking, state, sides, log } = this.deps;
    let timeout = MAX_BLOCK_SECONDS;
    if (dueAt > 0) timeout = Math.max(0.01, Math.min(timeout, (dueAt - Date.now()) / 1000));
    try {
      if (blocking.status === 'end') {
        if (state.draining) return;
        await blocking.connect();
      }
      await blocking.bzpopmin(...sides.map((s) => s.markerKey), timeout);
    } catch (err) {
      if (state.draining) return;
      log.debug({ err: (err as Error).message }, 'waiting for jobs failed; retrying');
      await sleep(REDIS_RETRY_MS);
    }
  }
}
