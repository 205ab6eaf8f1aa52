/**
 * One worker child: takes jobs from the pool's queues in strict order, runs at most `concurrency`
 * of them at once across all queues, and reports its busy time to the supervisor.
 *
 * Jobs are fetched by hand (BullMQ's manual-fetch API), never more than there are free slots: an
 * idle child never holds a job another child could run. A job of the first queue takes the next
 * one with its completion (fetchNext); other free slots are filled by the fetch loop, several
 * fetches at once when several slots are free. When every queue is empty it blocks on all the
 * queues' BullMQ marker keys at once (one BZPOPMIN), then tries the queues again from the first.
 * Every lock token is `${tokenBase}:${n}`, so the supervisor finds this child's jobs if it dies.
 */
import { LockManager, UnrecoverableError, Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ChildMessage, ParentMessage, WorkerSettings } from '../ipc/messages.js';
import { connect } from '../redis/connection.js';
import { createLogger, type Logger } from '../observe/logger.js';
import { loadProcessor, type LoadedProcessor } from './processor.js';

export interface ParentPort {
  send(msg: ChildMessage): void;
}

interface Running {
  job: Job;
  queue: QueueSide;
  token: string;
  startedAt: number;
  /** `${queue}:${id}`: job ids are per queue. */
  key: string;
}

/** BullMQ Worker internals the manual-fetch API needs (protected in its types). */
interface WorkerInternals {
  /** Turns a fetch's reply into a Job, as getNextJob does (and schedules a repeatable job's next run). */
  nextJobFromJobData(jobData?: unknown, jobId?: string, token?: string): Promise<Job | undefined>;
  /** When the next delayed job is due (epoch ms), as of the last fetch. */
  blockUntil?: number;
}

interface QueueSide {
  name: string;
  worker: Worker;
  locks: LockManager;
  markerKey: string;
  /** The queue has a global concurrency limit (see wakeWaiters). */
  limited: boolean;
}

/** Longest a blocked fetch waits before looking at the queues again (delayed jobs, lost markers). */
const MAX_BLOCK_SECONDS = 5;
const REDIS_RETRY_MS = 1000;
const TITLE_INTERVAL_MS = 100;
const TRANSITION_SAMPLE_GAP_MS = 20;

export class WorkerRuntime {
  private readonly log: Logger;
  private processor: LoadedProcessor | undefined;
  private readonly running = new Map<string, Running>();
  private sides: QueueSide[] = [];
  private client: Redis | undefined;
  private blocking: Redis | undefined;
  private busyDoneMs = 0;
  private processed = 0;
  private failed = 0;
  private draining = false;
  private exiting = false;
  /**
   * Fetches of the fetch loop under way. Each holds a free slot until it ends, and may still move a
   * job to active, which must then run, not be abandoned.
   */
  private loopFetches = 0;
  /** How many fetches the loop sends at once next: doubles while each finds a job, back to 1 when one does not. */
  private batch = 1;
  /** Completions under way that may take the next job with them (fetchNext). */
  private nextFetches = 0;
  private slotFreed: (() => void) | undefined;
  private sampleTimer: NodeJS.Timeout | undefined;
  private lastSampleAt = 0;
  private tokenSeq = 0;
  private titleAt = -Infinity;
  private titleTimer: NodeJS.Timeout | undefined;
  /** Times the main connection closed: a fetch that spans one may have run twice in Redis. */
  private connectionLosses = 0;
  /** Jobs this child has started (for --max-jobs-per-worker). */
  private started = 0;
  /** Set once the child asked to be replaced: it takes no more jobs but runs its own to the end. */
  private retiring: 'max_jobs' | 'job_timeout' | undefined;

  constructor(
    private readonly settings: WorkerSettings,
    private readonly port: ParentPort,
    private readonly exit: (code: number) => void,
  ) {
    this.log = createLogger({ level: settings.logLevel, pretty: settings.logPretty, base: { pool: settings.pool, worker: settings.workerId } });
  }

  /** Load the processor, connect, report ready, and run the fetch loop until drained. */
  async start(): Promise<void> {
    this.setTitle();
    try {
      this.processor = await loadProcessor(this.settings.processor);
      await this.processor.init?.({ pool: this.settings.pool, workerId: this.settings.workerId, queues: this.settings.queues });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.port.send({ type: 'load-error', message });
      this.log.error({ err: message }, 'processor failed to load');
      this.exit(70);
      return;
    }
    const s = this.settings;
    this.client = connect(s.redisUrl, { connectionName: `worker-pool:${s.pool}:${s.workerId}` });
    this.blocking = connect(s.redisUrl, { connectionName: `worker-pool:${s.pool}:${s.workerId}:wait` });
    this.client.on('error', (err) => this.log.debug({ err: err.message }, 'redis connection error'));
    this.client.on('close', () => this.connectionLosses++);
    this.blocking.on('error', (err) => this.log.debug({ err: err.message }, 'redis connection error'));
    this.sides = s.queues.map((name) => {
      const worker = new Worker(name, null, {
        connection: this.client!,
        prefix: s.prefix,
        autorun: false,
        lockDuration: s.lockDurationMs,
        stalledInterval: s.stalledIntervalMs,
        maxStalledCount: s.maxStalledCount,
        name: `${s.pool}:${s.workerId}`,
      });
      // Redis down is the supervisor's to report (once); a child only notes each failed attempt at debug.
      worker.on('error', (err) => this.log[isConnectionError(err) ? 'debug' : 'warn']({ queue: name, err: err.message }, 'bullmq worker error'));
      worker.on('stalled', (jobId) => this.port.send({ type: 'job-stalled', queue: name, id: String(jobId) }));
      const locks = new LockManager(worker as unknown as ConstructorParameters<typeof LockManager>[0], { lockRenewTime: s.lockDurationMs / 2, lockDuration: s.lockDurationMs, workerId: worker.id, workerName: worker.opts.name });
      locks.start();
      return { name, worker, locks, markerKey: worker.keys.marker!, limited: s.limitedQueues?.includes(name) ?? false };
    });
    for (const side of this.sides) void side.worker.startStalledCheckTimer().catch(() => undefined);
    this.sampleTimer = setInterval(() => this.sendSample(), s.sampleIntervalMs);
    this.sampleTimer.unref();
    this.port.send({ type: 'ready', at: performance.now() });
    this.sendSample(); // memory and counters known from the first moment, not a sample interval later
    this.log.debug({ queues: s.queues, concurrency: s.concurrency }, 'worker ready');
    await this.fetchLoop();
  }

  onParentMessage(msg: ParentMessage): void {
    switch (msg.type) {
      case 'drain':
        this.drain(msg.reason);
        break;
      case 'hand-back':
        void this.handBack();
        break;
      case 'start':
        break;
    }
  }

  /** The supervisor is gone: finish what is running (bounded), then exit. No orphan outlives it. */
  onParentGone(): void {
    this.log.warn('supervisor disconnected; draining');
    this.drain('supervisor gone');
    setTimeout(() => void this.handBack(), this.settings.orphanTimeoutMs).unref();
  }

  /** Stop taking jobs; exit when the running ones are done. */
  drain(reason: string): void {
    if (this.draining) return;
    this.draining = true;
    this.log.debug({ reason, running: this.running.size }, 'draining');
    // Wake a blocked fetch so the loop sees `draining` now, not after the block timeout.
    this.blocking?.disconnect();
    this.slotFreed?.();
    void this.finishIfIdle();
  }

  private busyMs(now: number): number {
    let ms = this.busyDoneMs;
    for (const r of this.running.values()) ms += now - r.startedAt;
    return ms;
  }

  /**
   * A sample right after a job starts or ends (at most one per TRANSITION_SAMPLE_GAP_MS), so the
   * supervisor's busy curve has a point at nearly every change of slope and between-sample
   * guesses stay small even when the periodic timer is late on a busy host.
   */
  private sampleAfterTransition(): void {
    if (performance.now() - this.lastSampleAt >= TRANSITION_SAMPLE_GAP_MS) this.sendSample();
  }

  private sendSample(): void {
    const now = performance.now();
    this.lastSampleAt = now;
    this.port.send({
      type: 'sample',
      at: now,
      busyMs: this.busyMs(now),
      busySlots: this.running.size,
      processed: this.processed,
      failed: this.failed,
      rssBytes: process.memoryUsage.rss(),
    });
  }

  /**
   * Show the busy count in the process title, at most every TITLE_INTERVAL_MS (a trailing update
   * shows the latest state): setting process.title is a system call, and at thousands of jobs a
   * second it cost ~4% of a no-op job's time.
   */
  private setTitle(): void {
    const now = performance.now();
    if (now - this.titleAt >= TITLE_INTERVAL_MS) {
      this.writeTitle(now);
      return;
    }
    this.titleTimer ??= setTimeout(() => {
      this.titleTimer = undefined;
      this.writeTitle(performance.now());
    }, TITLE_INTERVAL_MS - (now - this.titleAt));
    this.titleTimer.unref();
  }

  private writeTitle(now: number): void {
    const s = this.settings;
    this.titleAt = now;
    process.title = `worker-pool ${s.pool} ${s.workerId} [${this.running.size} of ${s.concurrency} busy]${this.draining ? ' draining' : ''}`;
  }

  /**
   * Fill the free slots. Several fetches go out at once when several slots are free (as many as
   * the last round found jobs for, doubled, up to the free slots): each tries the queues in order,
   * and Redis runs them one after another, so a job of a later queue is taken only when the
   * queues before it were empty at that moment, as with one fetch at a time. When a fetch finds
   * every queue empty, wait for a job to arrive.
   */
  private async fetchLoop(): Promise<void> {
    while (!this.draining) {
      const n = Math.min(this.batch, this.settings.concurrency - this.running.size - this.loopFetches, this.jobsLeft());
      if (n <= 0) {
        await new Promise<void>((resolve) => (this.slotFreed = resolve));
        this.slotFreed = undefined;
        continue;
      }
      this.loopFetches += n;
      const rounds = await Promise.allSettled(Array.from({ length: n }, () => this.fetchOne()));
      let found = 0;
      let dueAt = 0;
      let failure: Error | undefined;
      for (const r of rounds) {
        if (r.status === 'rejected') failure = r.reason as Error;
        else if (r.value.found) found++;
        else if (r.value.dueAt > 0 && (dueAt === 0 || r.value.dueAt < dueAt)) dueAt = r.value.dueAt;
      }
      this.batch = found === n ? Math.min(n * 2, this.settings.concurrency) : 1;
      if (this.draining) break;
      if (failure && found === 0) {
        this.log[isConnectionError(failure) ? 'debug' : 'warn']({ err: failure.message }, 'fetching a job failed; retrying');
        await sleep(REDIS_RETRY_MS);
        continue;
      }
      if (found < n && !failure) await this.waitForWork(dueAt);
    }
    void this.finishIfIdle();
  }

  /** One fetch of the loop: runs the job it finds at once, and gives its slot back either way. */
  private async fetchOne(): Promise<{ found: boolean; dueAt: number }> {
    try {
      const { fetched, dueAt } = await this.fetchInOrder();
      // Run it even if a drain arrived meanwhile: the job is already ours (active, locked).
      if (fetched) this.runJob(fetched.job, fetched.side, fetched.token);
      return { found: fetched !== undefined, dueAt };
    } finally {
      // In the same turn as runJob's bookkeeping: the slot passes from the fetch to the job.
      this.loopFetches--;
    }
  }

  /**
   * The first job found, trying the queues in the order they are listed; else when the next
   * delayed job of any queue is due (epoch ms, 0: none), to cap the wait.
   */
  private async fetchInOrder(): Promise<{ fetched?: { job: Job; side: QueueSide; token: string }; dueAt: number }> {
    let dueAt = 0;
    for (const side of this.sides) {
      if (this.draining) break;
      // The supervisor knows the token base: if this child dies before reporting the job this fetch
      // takes, it still finds the job by its lock and hands it back.
      const token = `${this.settings.tokenBase}:${++this.tokenSeq}`;
      const losses = this.connectionLosses;
      let job: Job | undefined;
      try {
        job = await side.worker.getNextJob(token, { block: false });
      } finally {
        // The connection dropped mid-fetch: Redis may have run the fetch, lost the reply, and run it
        // again on reconnect, leaving a job locked with this token that nobody runs. Have the
        // supervisor return any such job now instead of after lock-duration + stalled-interval.
        if (this.connectionLosses !== losses) this.port.send({ type: 'fetch-uncertain', queue: side.name, token, keep: job?.id ?? '' });
      }
      if (job) return { fetched: { job, side, token }, dueAt };
      // BullMQ remembers when the next delayed job is due; wake for it.
      const due = (side.worker as unknown as WorkerInternals).blockUntil ?? 0;
      if (due > 0 && (dueAt === 0 || due < dueAt)) dueAt = due;
    }
    return { dueAt };
  }

  /** Block until any queue signals a job (BullMQ's marker), a delayed job is due, or a bound passes. */
  private async waitForWork(dueAt: number): Promise<void> {
    let timeout = MAX_BLOCK_SECONDS;
    if (dueAt > 0) timeout = Math.max(0.01, Math.min(timeout, (dueAt - Date.now()) / 1000));
    const blocking = this.blocking!;
    try {
      if (blocking.status === 'end') {
        if (this.draining) return;
        await blocking.connect();
      }
      await blocking.bzpopmin(...this.sides.map((s) => s.markerKey), timeout);
    } catch (err) {
      if (this.draining) return;
      this.log.debug({ err: (err as Error).message }, 'waiting for jobs failed; retrying');
      await sleep(REDIS_RETRY_MS);
    }
  }

  /** Stop fetching and ask the supervisor for a successor; running jobs go on to their end. */
  private retire(reason: 'max_jobs' | 'job_timeout'): void {
    if (this.retiring || this.draining) return;
    this.retiring = reason;
    this.log.info({ reason, started: this.started, running: this.running.size }, 'taking no more jobs; asking for a successor');
    this.blocking?.disconnect();
    this.port.send({ type: 'retire', reason });
  }

  /** The job's time limit in ms (0: none): data.timeoutSeconds if it is a positive number, else --job-timeout. */
  private timeoutFor(job: Job): number {
    const own = (job.data as { timeoutSeconds?: unknown } | null)?.timeoutSeconds;
    if (typeof own === 'number' && Number.isFinite(own) && own > 0) return own * 1000;
    return this.settings.jobTimeoutMs;
  }

  /** Run the processor, racing it against the job's time limit. A hung promise cannot be cancelled. */
  private async process(job: Job): Promise<unknown> {
    // BullMQ's stalled check marks a job that stalled too often; its own runner fails it unrun.
    if (job.deferredFailure) throw new UnrecoverableError(job.deferredFailure);
    const limitMs = this.timeoutFor(job);
    if (limitMs <= 0) return this.processor!.run(job);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.retire('job_timeout');
        reject(new Error(`job timed out after ${limitMs / 1000} s (its worker is replaced, as a running job cannot be cancelled)`));
      }, limitMs);
    });
    try {
      return await Promise.race([this.processor!.run(job), timedOut]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Run a job the child now holds (active in Redis, locked with `token`), and after it each job
   * BullMQ hands over with its completion (fetchNext): all of them exactly alike.
   */
  private runJob(job: Job, side: QueueSide, token: string): void {
    void this.runChain(this.begin(job, side, token));
  }

  /** Count a job as started and running, and report it. Synchronous, so no drain sees a gap. */
  private begin(job: Job, side: QueueSide, token: string): Running {
    const id = job.id!;
    this.started++;
    if (this.settings.maxJobs > 0 && this.started >= this.settings.maxJobs) this.retire('max_jobs');
    // Job ids are per queue ("1" in one queue is not "1" in another): key by both.
    const r: Running = { job, queue: side, token, startedAt: performance.now(), key: `${side.name}:${id}` };
    this.running.set(r.key, r);
    side.locks.trackJob(id, token, Date.now());
    this.setTitle();
    const queuedAt = Math.max(job.timestamp + (job.delay ?? 0), job.timestamp);
    this.port.send({ type: 'job-start', queue: side.name, id, name: job.name, token, waitMs: Math.max(0, Date.now() - queuedAt) });
    this.sampleAfterTransition();
    return r;
  }

  private async runChain(first: Running): Promise<void> {
    let r: Running | undefined = first;
    while (r) r = await this.runOne(r);
  }

  /** Run one job to its end and record the outcome; returns the next job if the completion took one. */
  private async runOne(r: Running): Promise<Running | undefined> {
    const { job, queue: side, token, key } = r;
    const id = job.id!;
    let status: 'completed' | 'failed' = 'completed';
    let error: string | undefined;
    let next: Job | undefined;
    // Completions under way that may take a job count against --max-jobs-per-worker until that job
    // is counted as started (in the same turn, below) or known not to have come.
    let claims = 0;
    const claim = () => {
      const fetch = this.mayFetchNext(side);
      if (fetch) (claims++, this.nextFetches++);
      return fetch;
    };
    let losses = this.connectionLosses;
    try {
      const result = await this.process(job);
      if (this.running.has(key)) {
        losses = this.connectionLosses;
        const fetch = claim();
        next = await this.settle(side, token, fetch, job.moveToCompleted(result, token, fetch));
      }
    } catch (err) {
      status = 'failed';
      const e = err instanceof Error ? err : new Error(String(err));
      error = e.message;
      if (this.running.has(key)) {
        try {
          if (claims === 0) losses = this.connectionLosses;
          const fetch = claim();
          next = await this.settle(side, token, fetch, job.moveToFailed(e, token, fetch));
        } catch (moveErr) {
          this.log.warn({ queue: side.name, jobId: id, err: (moveErr as Error).message }, 'could not record job failure');
        }
      }
    }
    this.nextFetches -= claims;
    // The connection dropped while a completion could take the next job: Redis may have run it,
    // lost the reply, and left a job locked with this token that nobody runs. Have the supervisor
    // return any such job now instead of after lock-duration + stalled-interval.
    if (claims > 0 && this.connectionLosses !== losses) this.port.send({ type: 'fetch-uncertain', queue: side.name, token, keep: next?.id ?? '' });
    const durationMs = performance.now() - r.startedAt;
    side.locks.untrackJob(id);
    if (side.limited && !next) void this.wakeWaiters(side);
    if (!this.running.delete(key)) {
      // Handed back meanwhile (shutdown deadline): a job the completion took is not run either.
      if (next) void this.giveBack(next, token);
      return undefined;
    }
    this.busyDoneMs += durationMs;
    if (status === 'completed') this.processed++;
    else this.failed++;
    this.port.send({ type: 'job-end', queue: side.name, id, name: job.name, status, durationMs, error });
    if (status === 'failed') this.log.info({ queue: side.name, jobId: id, name: job.name, err: error }, 'job failed');
    // The next job takes this one's slot in the same turn: the slot is never seen free.
    if (next) return this.begin(next, side, token);
    this.sampleAfterTransition();
    this.setTitle();
    this.slotFreed?.();
    void this.finishIfIdle();
    return undefined;
  }

  /**
   * Whether a job's completion in `side` may take the next job with it (BullMQ's fetchNext, one
   * Redis round trip per job instead of two): only in the first queue listed, since a job from any
   * other must wait until the queues before it are looked at again; and only while this child
   * takes more jobs (not draining, not retiring, within --max-jobs-per-worker).
   */
  private mayFetchNext(side: QueueSide): boolean {
    return side === this.sides[0] && this.jobsLeft() > 0;
  }

  /**
   * How many more jobs this child may take: none while draining, retiring or exiting; within
   * --max-jobs-per-worker, counting every fetch under way as a job (so the quota stays exact).
   */
  private jobsLeft(): number {
    if (this.draining || this.retiring || this.exiting) return 0;
    if (this.settings.maxJobs <= 0) return Infinity;
    return this.settings.maxJobs - this.started - this.nextFetches - this.loopFetches;
  }

  /** The job a completion (or failure) took with it, if it asked for one and one was waiting. */
  private async settle(side: QueueSide, token: string, fetchNext: boolean, moved: Promise<void | unknown[]>): Promise<Job | undefined> {
    const reply = await moved;
    if (!fetchNext || !Array.isArray(reply) || !reply[0]) return undefined;
    // What getNextJob does with a fetched job's data: build the Job, schedule a repeatable job's next run.
    return (await (side.worker as unknown as WorkerInternals).nextJobFromJobData(reply[0], reply[1] as string, token)) ?? undefined;
  }

  /** Put a job this child took but will not run back in its queue (best effort: the supervisor finds it too). */
  private async giveBack(job: Job, token: string): Promise<void> {
    try {
      await withTimeout(job.moveToWait(token), 1000);
    } catch (err) {
      this.log.debug({ jobId: job.id, err: (err as Error).message }, 'could not hand back a job taken while stopping');
    }
  }

  /**
   * A job of a queue at its global limit does not signal BullMQ's marker when it ends, so workers
   * of every pool blocked on that queue would sleep until their block timeout. Set the marker
   * (as BullMQ does when a job is added): one waiting worker wakes and takes the next job.
   */
  private async wakeWaiters(side: QueueSide): Promise<void> {
    try {
      await this.client!.zadd(side.markerKey, 0, '0');
    } catch (err) {
      this.log.debug({ queue: side.name, err: (err as Error).message }, 'could not wake waiting workers');
    }
  }

  private async finishIfIdle(): Promise<void> {
    if (!this.draining || this.running.size > 0 || this.exiting) return;
    // A fetch under way may still take a job, which must then run; but while Redis does not answer,
    // a fetch waits for as long as the outage lasts and would hold the drain until the stop
    // deadline. It cannot take a job without Redis: leave (a job a lost reply took is returned by
    // the supervisor's hand-back, or the stalled check, as after any lost connection).
    if (this.loopFetches > 0 && this.client?.status === 'ready') return;
    this.exiting = true;
    this.setTitle();
    await this.close();
    this.exit(0);
  }

  /** Put every running job back in its queue (the lock token proves it is still ours), then exit. */
  async handBack(): Promise<void> {
    if (this.exiting) return;
    this.exiting = true;
    this.draining = true;
    this.blocking?.disconnect();
    const jobs = [...this.running.values()];
    this.running.clear();
    await Promise.all(
      jobs.map(async ({ job, queue, token }) => {
        queue.locks.untrackJob(job.id!);
        try {
          await withTimeout(job.moveToWait(token), 1000);
          this.port.send({ type: 'job-returned', queue: queue.name, id: job.id! });
          this.log.info({ queue: queue.name, jobId: job.id }, 'job handed back to its queue');
        } catch (err) {
          this.log.warn({ queue: queue.name, jobId: job.id, err: (err as Error).message }, 'could not hand job back; the stalled check will recover it');
        }
      }),
    );
    await this.close();
    this.exit(jobs.length > 0 ? 75 : 0);
  }

  private async close(): Promise<void> {
    if (this.sampleTimer) clearInterval(this.sampleTimer);
    if (this.titleTimer) clearTimeout(this.titleTimer);
    this.sendSample();
    if (this.client && this.client.status !== 'ready') {
      // No Redis to tell anything (locks, close): leave without waiting for it.
      this.blocking?.disconnect();
      this.client.disconnect();
      return;
    }
    await withTimeout(
      Promise.allSettled(this.sides.map(async (s) => {
        await s.locks.close();
        await s.worker.close(true);
      })),
      3000,
    ).catch(() => undefined);
    this.blocking?.disconnect();
    await withTimeout<unknown>(this.client?.quit() ?? Promise.resolve(), 1000).catch(() => this.client?.disconnect());
  }
}

/** A failure to reach Redis at all (refused, unresolvable, timed out, dropped), not an error of a command. */
export function isConnectionError(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  if (!e) return false;
  if (['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET', 'EPIPE'].includes(e.code ?? '')) return true;
  return /Connection is closed|connect ETIMEDOUT|ECONNREFUSED|Stream isn't writeable/.test(e.message ?? '');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}
