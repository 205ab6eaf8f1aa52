/**
 * Watches for children whose event loop has stopped: their samples stop arriving while their
 * process is alive. Such a child is counted and logged with its pid once per episode; and a job
 * of it that has run past its time limit by a grace period is ended by the supervisor, as
 * Celery's hard `time_limit` does: the job is failed with the time-limit reason (its lock token
 * proves it is still that child's), then the child is killed with SIGKILL. The child's own timer
 * cannot do this while its loop is blocked; a child that is responsive fails its job itself at
 * the limit and never reaches the grace period. A silent child that is not running at all but
 * stopped (SIGSTOP, SIGTSTP, a debugger: state T in /proc) for longer than `stoppedLimitMs` is
 * killed too, so that its jobs are handed back: the supervisor keeps the locks of a live child's
 * jobs, so without this a stopped child would hold them for good, where a plain BullMQ Worker's
 * jobs come back through the stalled check once their lock expires.
 */
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
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
  /** How long a child may stay stopped (state T) before it is killed and its jobs handed back (ms). */
  stoppedLimitMs: number;
  /** The process state letter of a pid (R, S, D, T, t, Z…), undefined when unknown; /proc by default. */
  processState?: (pid: number) => string | undefined;
}

/** The state letter from /proc/PID/stat (after the command name, which may hold spaces and parentheses). */
export function procState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) || undefined;
  } catch {
    return undefined;
  }
}

export interface FreezeWatchEvents {
  frozen: [WorkerProcess];
  'hard-timeout': [WorkerProcess, { queue: string; id: string }];
  stopped: [WorkerProcess];
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
  /** When each silent child was first seen stopped (state T), until it runs again. */
  private readonly stoppedSince = new WeakMap<WorkerProcess, number>();

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
        this.checkStopped(w, now);
      } else if (this.frozen.has(w)) {
        this.frozen.delete(w);
        this.stoppedSince.delete(w);
        this.opts.log.info({ worker: w.id, pid: w.pid }, 'worker responsive again');
      }
      const late = w.deadlines.find((d) => now > d.at + HARD_LIMIT_GRACE_MS);
      if (late && !this.ending.has(w)) {
        this.ending.add(w);
        void this.endJob(w, late);
      }
    }
  }

  /** A silent child stopped by a signal for longer than the limit is killed; the hand-back returns its jobs. */
  private checkStopped(w: WorkerProcess, now: number): void {
    if (w.pid === undefined || this.ending.has(w)) return;
    const state = (this.opts.processState ?? procState)(w.pid);
    if (state !== 'T' && state !== 't') {
      this.stoppedSince.delete(w);
      return;
    }
    const since = this.stoppedSince.get(w);
    if (since === undefined) {
      this.stoppedSince.set(w, now);
      this.opts.log.warn({ worker: w.id, pid: w.pid, running: w.busySlots, killInSeconds: this.opts.stoppedLimitMs / 1000 }, 'worker stopped by a signal (state T): its jobs come back if it stays stopped');
      return;
    }
    if (now - since <= this.opts.stoppedLimitMs) return;
    this.ending.add(w);
    this.opts.log.error(
      { worker: w.id, pid: w.pid, stoppedSeconds: Math.round((now - since) / 100) / 10, running: w.busySlots },
      'worker stopped for longer than --lock-duration; killing it so that its jobs are handed back',
    );
    w.stopReason ??= 'stopped';
    w.kill('SIGKILL');
    this.emit('stopped', w);
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
