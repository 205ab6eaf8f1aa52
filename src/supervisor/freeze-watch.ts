/**
 * Watches for children whose event loop has stopped: their samples stop arriving while their
 * process is alive. Such a child is counted and logged with its pid once per episode; and a job
 * of it that has run past its time limit by a grace period is ended by the supervisor, as
 * Celery's hard `time_limit` does: the job is failed with the time-limit reason (its lock token
 * proves it is still that child's), then the child is killed with SIGKILL. The child's own timer
 * cannot do this while its loop is blocked; a child that is responsive fails its job itself at
 * the limit and never reaches the grace period.
 */
import { EventEmitter } from 'node:events';
import { Job, type Queue } from 'bullmq';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { WorkerProcess } from './worker-process.js';

export interface FreezeWatchOptions {
  workers: () => WorkerProcess[];
  queue: (name: string) => Queue | undefined;
  sampleIntervalMs: number;
  clock: Clock;
  log: Logger;
  /** How often to look (ms). */
  checkEveryMs?: number;
}

export interface FreezeWatchEvents {
  frozen: [WorkerProcess];
  'hard-timeout': [WorkerProcess, { queue: string; id: string }];
}

/** No sample for this long (and at least this many sample intervals) means the child's loop is blocked. */
const FROZEN_AFTER_MS = 3000;
const FROZEN_AFTER_INTERVALS = 5;
/** How far past its time limit a job of a frozen child may run before the supervisor ends it. */
export const HARD_LIMIT_GRACE_MS = 2000;

export class FreezeWatch extends EventEmitter<FreezeWatchEvents> {
  private timer: NodeJS.Timeout | undefined;
  private readonly frozen = new WeakSet<WorkerProcess>();
  private readonly ending = new WeakSet<WorkerProcess>();

  constructor(private readonly opts: FreezeWatchOptions) {
    super();
  }

  /** The silence after which a child counts as frozen (ms). */
  get frozenAfterMs(): number {
    return Math.max(FROZEN_AFTER_MS, FROZEN_AFTER_INTERVALS * this.opts.sampleIntervalMs);
  }

  start(): void {
    this.timer = setInterval(() => this.check(), this.opts.checkEveryMs ?? 250);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One look at every child (the timer calls it; tests may too). */
  check(): void {
    const now = this.opts.clock.now();
    for (const w of this.opts.workers()) {
      if (w.state !== 'running' && w.state !== 'draining') continue;
      if (w.lastSampleAt === undefined) continue;
      const silentMs = now - w.lastSampleAt;
      if (silentMs > this.frozenAfterMs) {
        if (!this.frozen.has(w)) {
          this.frozen.add(w);
          this.opts.log.warn(
            { worker: w.id, pid: w.pid, silentSeconds: Math.round(silentMs / 100) / 10, running: w.deadlines.length },
            'worker frozen: its process is alive but it has sent no sample (a job is blocking its event loop)',
          );
          this.emit('frozen', w);
        }
      } else if (this.frozen.has(w)) {
        this.frozen.delete(w);
        this.opts.log.info({ worker: w.id, pid: w.pid }, 'worker responsive again');
      }
      const late = w.deadlines.find((d) => now > d.at + HARD_LIMIT_GRACE_MS);
      if (late && !this.ending.has(w)) {
        this.ending.add(w);
        void this.endJob(w, late);
      }
    }
  }

  /** Fail the job with its time-limit reason (while its lock is still the child's), then kill the child. */
  private async endJob(w: WorkerProcess, d: WorkerProcess['deadlines'][number]): Promise<void> {
    const reason = `job timed out after ${d.limitMs / 1000} s (hard limit: its worker did not stop it within ${HARD_LIMIT_GRACE_MS / 1000} s more, so the worker was killed)`;
    this.opts.log.error({ worker: w.id, pid: w.pid, queue: d.queue, jobId: d.id, limitSeconds: d.limitMs / 1000 }, 'job past its time limit in an unresponsive worker; failing it and killing the worker');
    try {
      const queue = this.opts.queue(d.queue);
      const job = queue ? await Job.fromId(queue, d.id) : undefined;
      if (job) await job.moveToFailed(new Error(reason), d.token, false);
    } catch (err) {
      // The lock moved on (the child finished the job after all), or Redis is away: the kill still
      // ends the child, and the hand-back returns whatever it still held.
      this.opts.log.warn({ worker: w.id, queue: d.queue, jobId: d.id, err: (err as Error).message }, 'could not fail the job past its hard time limit');
    }
    w.stopReason ??= 'job_timeout';
    w.kill('SIGKILL');
    this.emit('hard-timeout', w, { queue: d.queue, id: d.id });
  }
}
