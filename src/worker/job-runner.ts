/**
 * Runs the jobs a worker child holds: the processor called as BullMQ calls it, `(job, token,
 * signal)`, raced against the job's time limit; the outcome recorded in Redis as BullMQ's Worker
 * records it (a job that moved itself, delayed, waiting or rate-limited, is not a failure); and,
 * for the first queue listed, the next job taken with the completion (BullMQ's fetchNext) into the
 * slot it frees.
 */
import { RATE_LIMIT_ERROR, SpanKind, TelemetryAttributes, UnrecoverableError, type Job } from './bullmq.js';
import type { Redis } from 'ioredis';
import type { WorkerSettings } from '../ipc/messages.js';
import type { Logger } from '../logger.js';
import type { ChildState, QueueSide, RetireReason, Running } from './child-state.js';
import type { WorkerInternals } from './fetcher.js';
import type { LoadedProcessor } from './processor.js';
import type { ParentPort, Reporter } from './reporter.js';
import { clampTimerMs, withTimeout } from '../timing.js';
import { lostToPeer, untrackRun } from './job-ownership.js';

/** BullMQ Worker internals that settling a job as its own Worker does needs (protected in its types). */
interface SettleInternals {
  /** Takes the next job with the same token, as BullMQ does after a job moved itself. */
  moveToActive(token: string, name?: string): Promise<Job | undefined>;
  /** Records a fetch reply's rate-limit delay and next delayed job, as BullMQ does after each fetch. */
  updateDelays(limitDelay?: number, delayUntil?: number): void;
  /** Until when (epoch ms) this queue is rate-limited: getNextJob takes nothing before then. */
  limitUntil: number;
}

/** The errors with which a processor says it moved its job itself (BullMQ compares names too, across copies of bullmq). */
const MOVED_ITSELF = new Set(['DelayedError', 'WaitingError', 'WaitingChildrenError']);

export interface JobRunnerDeps {
  settings: WorkerSettings;
  state: ChildState;
  sides: readonly QueueSide[];
  processor: LoadedProcessor;
  client: Redis;
  port: ParentPort;
  log: Logger;
  reporter: Reporter;
  /** Stop fetching and ask the supervisor for a successor. */
  retire(reason: RetireReason): void;
  /** A slot came free: the fetcher may look again. */
  slotFreed(): void;
  /** A job ended: exit if draining and nothing runs any more. */
  ended(): void;
}

export class JobRunner {
  constructor(private readonly deps: JobRunnerDeps) {}

  /**
   * Run a job the child now holds (active in Redis, locked with `token`), and after it each job
   * BullMQ hands over with its completion (fetchNext): all of them exactly alike.
   */
  runJob(job: Job, side: QueueSide, token: string): void {
    // A fetch's reply read after the fleet lease ran out (the host was paused): the job is not started.
    if (this.deps.state.lease?.holds() === false) void this.giveBack(job, token);
    else void this.runChain(this.begin(job, side, token));
  }

  /** Count a job as started and running (reported with the next sample). Synchronous, so no drain sees a gap. */
  private begin(job: Job, side: QueueSide, token: string): Running {
    const { state, settings, reporter } = this.deps;
    const id = job.id!;
    state.started++;
    if (settings.maxJobs > 0 && state.started >= settings.maxJobs) this.deps.retire('max_jobs');
    // Keyed by its lock token: the same job may run here twice at once (see Running.key).
    const r: Running = { job, queue: side, token, tokenSeq: Number(token.slice(token.lastIndexOf(':') + 1)), startedAt: performance.now(), limitMs: this.timeoutFor(job), key: token };
    state.running.set(r.key, r);
    side.locks.trackJob(id, token, Date.now());
    reporter.setTitle();
    const queuedAt = Math.max(job.timestamp + (job.delay ?? 0), job.timestamp);
    state.tally.started(side.name, Math.max(0, Date.now() - queuedAt));
    // A job with a time limit is reported at once, never skipped as too soon after the last sample:
    // if it blocks the event loop right away, its deadline must already be with the supervisor.
    if (r.limitMs > 0) reporter.sendSample();
    else reporter.sampleAfterTransition();
    return r;
  }

  private async runChain(first: Running): Promise<void> {
    let r: Running | undefined = first;
    while (r) r = await this.runOne(r);
  }

  /** The job's time limit in ms (0: none): data.timeoutSeconds if it is a positive number, else --job-timeout. */
  private timeoutFor(job: Job): number {
    const own = (job.data as { timeoutSeconds?: unknown } | null)?.timeoutSeconds;
    // A job's own limit is clamped to what a timer can wait (longer ones would fire at once).
    if (typeof own === 'number' && Number.isFinite(own) && own > 0) return clampTimerMs(own * 1000);
    return this.deps.settings.jobTimeoutMs;
  }

  /** Abort the signal of every run of a job this child runs (`worker-pool cancel`); false if it runs none by that id. */
  cancel(queue: string, id: string, reason: string | undefined): boolean {
    const { running, aborts } = this.deps.state;
    const runs = [...running.values()].filter((r) => r.queue.name === queue && r.job.id === id);
    const signals = runs.flatMap((r) => aborts.get(r.key) ?? []);
    for (const abort of signals) abort.abort(reason);
    if (signals.length === 0 && runs.length > 0) this.deps.log.info({ queue, jobId: id }, 'cancel asked for a job whose processor takes no signal (job, token, signal): it runs on');
    return signals.length > 0;
  }

  /** Run the processor (in BullMQ's "process" span when the module set telemetry). */
  private process(r: Running): Promise<unknown> {
    const { job, queue: side } = r;
    if (!side.worker.opts.telemetry) return this.processTimed(r);
    return side.worker.trace(SpanKind.CONSUMER, 'process', side.name, async (span) => {
      span?.setAttributes({
        [TelemetryAttributes.WorkerId]: side.worker.id,
        [TelemetryAttributes.WorkerName]: side.worker.opts.name,
        [TelemetryAttributes.JobId]: job.id,
        [TelemetryAttributes.JobName]: job.name,
      });
      return this.processTimed(r);
    }, job.opts?.telemetry?.metadata) as Promise<unknown>;
  }

  /**
   * Run the processor with `(job, token, signal)`, racing it against the job's time limit. At the
   * limit the signal aborts (a cooperative processor stops) and the job fails at once; a hung
   * promise cannot be cancelled, so the worker is replaced.
   */
  private async processTimed(r: Running): Promise<unknown> {
    const { job, token, key, limitMs } = r;
    const { processor, state } = this.deps;
    // BullMQ's stalled check marks a job that stalled too often; its own runner fails it unrun.
    if (job.deferredFailure) throw new UnrecoverableError(job.deferredFailure);
    const maxStarted = processor.workerOptions.maxStartedAttempts;
    if (maxStarted && maxStarted < job.attemptsStarted) throw new UnrecoverableError('job started more than allowable limit');
    const abort = processor.wantsSignal(job.name) ? new AbortController() : undefined;
    if (abort) state.aborts.set(key, abort);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (limitMs <= 0) return await processor.run(job, token, abort?.signal);
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const err = new Error(`job timed out after ${limitMs / 1000} s (its worker is replaced, as a running job cannot be cancelled)`);
          abort?.abort(err);
          this.deps.retire('job_timeout');
          reject(err);
        }, limitMs);
      });
      return await Promise.race([processor.run(job, token, abort?.signal), timedOut]);
    } finally {
      clearTimeout(timer);
      state.aborts.delete(key);
    }
  }

  /** Run one job to its end and record the outcome; returns the next job if the completion took one. */
  private async runOne(r: Running): Promise<Running | undefined> {
    const { state, log, reporter } = this.deps;
    const { job, queue: side, token, key } = r;
    const id = job.id!;
    let status: 'completed' | 'failed' | 'moved' | 'lost' = 'completed';
    let error: string | undefined;
    let next: Job | undefined;
    // Completions under way that may take a job count against --max-jobs-per-worker until that job
    // is counted as started (in the same turn, below) or known not to have come.
    let claims = 0;
    const claim = () => {
      const fetch = this.mayFetchNext(side);
      if (fetch) (claims++, state.nextFetches++);
      return fetch;
    };
    let losses = state.connectionLosses;
    let e: Error | undefined;
    try {
      const result = await this.process(r);
      if (state.running.has(key)) {
        losses = state.connectionLosses;
        const fetch = claim();
        try {
          next = await this.settle(side, token, fetch, job.moveToCompleted(result, token, fetch));
        } catch (err) {
          if (!lostToPeer(err)) throw err;
          status = 'lost'; // no longer this run's (a peer handed it back, it runs elsewhere): nothing to record
        }
      }
    } catch (err) {
      e = err instanceof Error ? err : new Error(String(err));
    }
    if (e) {
      // As BullMQ's Worker: a rate-limited job goes back to wait and its queue pauses for the limit's TTL.
      const rateLimited = e.message === RATE_LIMIT_ERROR;
      // A job that moved itself (DelayedError, WaitingError, WaitingChildrenError) is not failed;
      // its slot may take the next job, with the same token, as after a completion.
      const movedItself = MOVED_ITSELF.has(e.name);
      if (rateLimited || movedItself) status = 'moved';
      else {
        status = 'failed';
        error = e.message;
      }
      if (state.running.has(key)) {
        try {
          if (claims === 0) losses = state.connectionLosses;
          if (rateLimited) await this.backToWait(side, job, token);
          else {
            const fetch = claim();
            if (movedItself) next = fetch ? await this.takeNext(side, token) : undefined;
            else next = await this.settle(side, token, fetch, job.moveToFailed(e, token, fetch));
          }
        } catch (moveErr) {
          if (lostToPeer(moveErr)) status = 'lost';
          // Neither outcome could be written: the job is left to recovery (its lock runs out, as this
          // child stops renewing it and no longer reports it), never kept alive by this run.
          else log.warn({ queue: side.name, jobId: id, err: (moveErr as Error).message }, rateLimited ? 'could not put a rate-limited job back' : movedItself ? 'could not take the next job' : 'could not record job failure');
        }
      }
    }
    state.nextFetches -= claims;
    // The connection dropped while a completion could take the next job: Redis may have run it,
    // lost the reply, and left a job locked with this token that nobody runs. Have the supervisor
    // return any such job now instead of after lock-duration + stalled-interval.
    if (claims > 0 && state.connectionLosses !== losses) this.deps.port.send({ type: 'fetch-uncertain', queue: side.name, token, keep: next?.id ?? '' });
    const durationMs = performance.now() - r.startedAt;
    untrackRun(side, id, token);
    if (side.limited && !next) void this.wakeWaiters(side);
    if (!state.running.delete(key)) {
      // Handed back meanwhile (shutdown deadline): a job the completion took is not run either.
      if (next) void this.giveBack(next, token);
      return undefined;
    }
    state.busyDoneMs += durationMs;
    if (status === 'completed') state.processed++;
    else if (status === 'failed') state.failed++;
    state.tally.ended(side.name, status, durationMs);
    if (status === 'failed') log.info({ queue: side.name, jobId: id, name: job.name, err: error }, 'job failed');
    else if (status === 'lost') log.info({ queue: side.name, jobId: id, name: job.name }, 'job lost to a peer: its lock had moved on (it was handed back and runs elsewhere), so this run recorded nothing');
    // The next job takes this one's slot in the same turn (the slot is never seen free), unless the lease ran out.
    if (next && state.lease?.holds() === false) void this.giveBack(next, token);
    else if (next) return this.begin(next, side, token);
    reporter.sampleAfterTransition();
    reporter.setTitle();
    this.deps.slotFreed();
    this.deps.ended();
    return undefined;
  }

  /**
   * Whether a job's completion in `side` may take the next job with it (BullMQ's fetchNext, one
   * Redis round trip per job instead of two): only in the first queue listed, since a job from any
   * other must wait until the queues before it are looked at again; and only while this child
   * takes more jobs (not draining, not retiring, within --max-jobs-per-worker).
   */
  private mayFetchNext(side: QueueSide): boolean {
    return side === this.deps.sides[0] && this.deps.state.jobsLeft() > 0;
  }

  /** The job a completion (or failure) took with it, if it asked for one and one was waiting. */
  private async settle(side: QueueSide, token: string, fetchNext: boolean, moved: Promise<void | unknown[]>): Promise<Job | undefined> {
    const reply = await moved;
    if (!fetchNext || !Array.isArray(reply)) return undefined;
    // The reply also says whether the queue is now rate-limited (its limiter) and when the next delayed job is due.
    (side.worker as unknown as SettleInternals).updateDelays(reply[2] as number, reply[3] as number);
    if (!reply[0]) return undefined;
    // What getNextJob does with a fetched job's data: build the Job, schedule a repeatable job's next run.
    return (await (side.worker as unknown as WorkerInternals).nextJobFromJobData(reply[0], reply[1] as string, token)) ?? undefined;
  }

  /** After a job moved itself: the next job of its queue, taken with the same token (BullMQ's moveToActive). */
  private takeNext(side: QueueSide, token: string): Promise<Job | undefined> {
    return (side.worker as unknown as SettleInternals).moveToActive(token, side.worker.opts.name);
  }

  /**
   * A processor threw the rate-limit error (after `worker.rateLimit(ms)`): the job goes back to
   * wait, and this queue's Worker takes nothing until the limit's TTL has passed (the fetcher
   * wakes then).
   */
  private async backToWait(side: QueueSide, job: Job, token: string): Promise<void> {
    const ttl = Number(await job.moveToWait(token));
    (side.worker as unknown as SettleInternals).limitUntil = ttl > 0 ? Date.now() + ttl : 0;
  }

  /** Put a job this child took but will not run back in its queue (best effort: the supervisor finds it too). */
  private async giveBack(job: Job, token: string): Promise<void> {
    try {
      await withTimeout(job.moveToWait(token), 1000);
    } catch (err) {
      this.deps.log.debug({ jobId: job.id, err: (err as Error).message }, 'could not hand back a job taken while stopping');
    }
  }

  /**
   * A job of a queue at its global limit does not signal BullMQ's marker when it ends, so workers
   * of every pool blocked on that queue would sleep until their block timeout. Set the marker
   * (as BullMQ does when a job is added): one waiting worker wakes and takes the next job.
   */
  private async wakeWaiters(side: QueueSide): Promise<void> {
    try {
      await this.deps.client.zadd(side.markerKey, 0, '0');
    } catch (err) {
      this.deps.log.debug({ queue: side.name, err: (err as Error).message }, 'could not wake waiting workers');
    }
  }
}
