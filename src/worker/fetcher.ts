/**
 * The fetch loop of a worker child: fills its free slots with jobs from its queues in strict
 * order, never taking more jobs than there are free slots, and waits on the queues' BullMQ
 * marker keys (marker-watch.ts) when every queue is empty.
 *
 * Jobs are fetched by hand (BullMQ's manual-fetch API). With several queues, finding the next job
 * costs the same round trips whatever their number: a wake-up fetches from the queue whose marker
 * woke the child (the earliest listed of those that signalled); otherwise one script names the
 * first queues that hold a job (ready-queues.ts) and the fetch goes there. Several fetches go out
 * at once when several slots are free; each tries the named queues in the order listed, and Redis
 * runs them one after another, so a job of a later queue is taken only when the queues before it
 * were empty at that moment, as with one fetch at a time. No wake-up is lost: BullMQ sets a queue's
 * marker when a job is added and again each time one is taken, so while jobs remain another blocked
 * worker wakes, and a child that pops a marker it will not use sets it back.
 */
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { WorkerSettings } from '../ipc/messages.js';
import { isConnectionError } from '../redis/connection-error.js';
import type { Logger } from '../logger.js';
import type { ChildState, QueueSide } from './child-state.js';
import type { MarkerWatch } from './marker-watch.js';
import { ReadyQueueFinder, type ReadyQueueKeys } from './ready-queues.js';
import type { ParentPort } from './reporter.js';
import { sleep } from '../timing.js';

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
  /** Waits on the queues' markers (on connections of its own, since BZPOPMIN holds them). */
  markers: MarkerWatch;
  /** The connection the queues' Workers use (for the ready-queue script). */
  client: Redis;
  port: ParentPort;
  log: Logger;
  /** Start running a job this child now holds. Must count it as running in the same turn. */
  runJob(job: Job, side: QueueSide, token: string): void;
}

export class Fetcher {
  /** How many fetches the loop sends at once next: doubles while each finds a job, back to 1 when one does not. */
  private batch = 1;
  private slotFreed: (() => void) | undefined;
  /** Names the queues that hold a job, in one call (only with several queues). */
  private readonly probe: ReadyQueueFinder | undefined;
  /** The queue whose marker woke this child last, until it fetches from it. */
  private woke: QueueSide | undefined;
  /** When the next delayed job known of is due (epoch ms; 0: none known). */
  private dueAt = 0;

  constructor(private readonly deps: FetcherDeps) {
    if (deps.sides.length > 1) {
      this.probe = new ReadyQueueFinder(deps.client, deps.sides.map((s) => s.worker.keys as unknown as ReadyQueueKeys));
    }
  }

  /** A slot came free (or the child stopped taking jobs): look again now. */
  wake(): void {
    this.slotFreed?.();
  }

  /** Fill the free slots until the child stops taking jobs. */
  async run(): Promise<void> {
    const { state, settings, log } = this.deps;
    while (!state.draining) {
      const free = Math.min(settings.concurrency - state.running.size - state.loopFetches, state.jobsLeft());
      if (free <= 0) {
        this.giveBackWake();
        this.deps.markers.park();
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        this.slotFreed = undefined;
        continue;
      }
      // Which queues to try, in order: with one queue, that one. Else, after a wake-up, the queue
      // whose marker woke this child: the earliest listed of those that signalled (no queue before it
      // in its group had a marker; see marker-watch.ts), and a marker is set whenever a job is
      // added to a queue or taken from it (another worker already on its way to such a queue takes
      // its job). Else (at the start, after a timeout, when a delayed job is due) the queues one script
      // names as holding a job.
      let order: readonly QueueSide[] = this.deps.sides;
      const woke = this.woke;
      this.woke = undefined;
      const byWake = woke !== undefined && !(this.dueAt > 0 && this.dueAt <= Date.now());
      // A marker stands for at least one job, not for how many: a wake-up fetches one, and the
      // marker (BullMQ sets it again as it hands out a job while more wait) says whether to fetch
      // again. Sending more would cost an empty fetch for most jobs that arrive one at a time.
      const n = byWake ? 1 : Math.min(this.batch, free);
      if (byWake) {
        order = [woke];
      } else if (this.probe) {
        try {
          const r = await this.probe.find(n + 1);
          order = r.ready.map((i) => this.deps.sides[i]!);
          this.dueAt = r.dueAt;
        } catch (err) {
          if (state.draining) break;
          log.warn({ err: (err as Error).message }, 'looking for queues with jobs failed; retrying');
          await sleep(REDIS_RETRY_MS);
          continue;
        }
        if (state.draining) break;
        if (order.length === 0) {
          this.batch = 1;
          await this.waitForWork();
          continue;
        }
      }
      state.loopFetches += n;
      const rounds = await Promise.allSettled(Array.from({ length: n }, () => this.fetchOne(order)));
      let found = 0;
      let failure: Error | undefined;
      for (const r of rounds) {
        if (r.status === 'rejected') failure = r.reason as Error;
        else if (r.value.found) found++;
        else if (r.value.dueAt > 0 && (this.dueAt <= Date.now() || r.value.dueAt < this.dueAt)) this.dueAt = r.value.dueAt;
      }
      if (!byWake) this.batch = found === n ? Math.min(n * 2, settings.concurrency) : 1;
      if (state.draining) break;
      if (failure && found === 0) {
        state.fetchErrors++;
        log[isConnectionError(failure) ? 'debug' : 'warn']({ err: failure.message }, 'fetching a job failed; retrying');
        await sleep(REDIS_RETRY_MS);
        continue;
      }
      // After a fetch a wake-up led to, the markers tell what comes next (in queue order, and at once
      // if any is set: BullMQ sets the queue's marker again with each job taken), not a new look at
      // every queue.
      if ((found < n || byWake) && !failure) await this.waitForWork();
    }
    this.giveBackWake();
  }

  /**
   * This child popped a queue's marker and will not fetch from it now (it stopped taking jobs, or
   * has no free slot): set the marker again, so that another worker wakes for that queue's job.
   */
  private giveBackWake(): void {
    const side = this.woke;
    this.woke = undefined;
    if (side) this.deps.markers.giveBack(side);
  }

  /** One fetch of the loop: runs the job it finds at once, and gives its slot back either way. */
  private async fetchOne(order: readonly QueueSide[]): Promise<{ found: boolean; dueAt: number }> {
    try {
      const { fetched, dueAt } = await this.fetchInOrder(order);
      // Run it even if a drain arrived meanwhile: the job is already ours (active, locked).
      if (fetched) this.deps.runJob(fetched.job, fetched.side, fetched.token);
      return { found: fetched !== undefined, dueAt };
    } finally {
      // In the same turn as runJob's bookkeeping: the slot passes from the fetch to the job.
      this.deps.state.loopFetches--;
    }
  }

  /**
   * The first job found, trying the given queues in the order they are listed; else when the next
   * delayed job of any of them is due (epoch ms, 0: none), to cap the wait.
   */
  private async fetchInOrder(order: readonly QueueSide[]): Promise<{ fetched?: { job: Job; side: QueueSide; token: string }; dueAt: number }> {
    const { state, port } = this.deps;
    let dueAt = 0;
    for (const side of order) {
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

  /**
   * Block until any queue signals a job (BullMQ's marker), the next delayed job known is due, or a
   * bound passes; remember which queue's marker woke this child.
   */
  private async waitForWork(): Promise<void> {
    let timeout = MAX_BLOCK_SECONDS;
    if (this.dueAt > 0) timeout = Math.max(0.01, Math.min(timeout, (this.dueAt - Date.now()) / 1000));
    this.woke = await this.deps.markers.wait(timeout);
  }
}
