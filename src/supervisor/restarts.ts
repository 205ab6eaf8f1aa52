/**
 * What becomes of a slot whose child ended on its own (not drained): one stopped by the fleet fence
 * is replaced as soon as the lease holds again; a crash of a child that ran is replaced after a
 * short back-off; failed starts back off longer each time, and a slot whose child keeps failing to
 * start is fatal until a cooldown passes. And when a running child is due for recycling.
 */
import { hostMonotonicMs } from '../clock.js';
import { FENCED_EXIT_CODE } from '../ipc/messages.js';
import type { Logger } from '../logger.js';
import { planRestart, type BackoffOptions } from '../policy/backoff.js';
import type { Slot } from './slots.js';
import type { ExitReason, WorkerProcess } from './worker-process.js';

export interface DeathFacts {
  backoff: BackoffOptions;
  now: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  log: Logger;
}

/** Set the slot's restart (or back-off, or fatal state) after its child ended on its own, and log it; the exit's reason, and whether the slot went fatal. */
export function planAfterDeath(slot: Slot, worker: WorkerProcess, f: DeathFacts): { reason: ExitReason; fatal: boolean } {
  const { now, code, signal, log } = f;
  if (worker.stopReason === 'fenced') {
    // Not the child's fault: its slot starts a new one as soon as a lease (and a fleet slot) is held.
    slot.restartAt = now;
    log.warn({ worker: worker.id, pid: worker.pid, code, signal, lostJobs: worker.busySlots }, 'worker stopped by the fleet fence; its running jobs are handed back');
    return { reason: 'fenced', fatal: false };
  }
  const livedMs = now - worker.forkedAt;
  const plan = planRestart(f.backoff, slot, { now, livedMs, becameReady: worker.readyAt !== undefined && !worker.loadError });
  // A worker the supervisor killed itself (a job past its hard time limit) says so.
  const reason: ExitReason = plan.failedStarts > 0 ? 'failed_start' : (worker.stopReason ?? 'crash');
  slot.failedStarts = plan.failedStarts;
  slot.lastError = worker.loadError ?? worker.stderrTail.slice(-5).join('\n') ?? undefined;
  if (plan.kind === 'fatal') {
    slot.fatalUntil = plan.untilMs;
    log.error(
      { worker: slot.name, failedStarts: plan.failedStarts, retryInS: Math.round((plan.untilMs - now) / 1000), loadError: worker.loadError, stderr: worker.stderrTail.slice(-10) },
      'worker keeps failing to start; slot is fatal until the cooldown passes',
    );
    return { reason, fatal: true };
  }
  slot.restartAt = plan.atMs;
  const level = plan.failedStarts > 0 ? 'warn' : 'error';
  log[level](
    { worker: slot.name, pid: worker.pid, code, signal, lostJobs: worker.busySlots, restartInMs: Math.round(plan.atMs - now), failedStarts: plan.failedStarts, loadError: worker.loadError },
    plan.failedStarts > 0 ? 'worker failed to start; restarting after back-off' : 'worker died; replacing it',
  );
  return { reason, fatal: false };
}

/** Why a running child should be replaced now (it ran its quota of jobs, or grew past its memory), if it should. */
export function recycleReason(worker: Pick<WorkerProcess, 'processed' | 'failed' | 'rssBytes'>, limits: { maxJobsPerWorker?: number; maxMemoryMb?: number }): ExitReason | undefined {
  if (limits.maxJobsPerWorker !== undefined && worker.processed + worker.failed >= limits.maxJobsPerWorker) return 'max_jobs';
  if (limits.maxMemoryMb !== undefined && worker.rssBytes > limits.maxMemoryMb * 1024 * 1024) return 'max_memory';
  return undefined;
}

/** Whether the child stopped itself at its lease deadline (the event loop's exit code, or its watchdog thread's SIGKILL). */
export function stoppedByFence(worker: Pick<WorkerProcess, 'leaseUntil'>, code: number | null, signal: NodeJS.Signals | null): boolean {
  return code === FENCED_EXIT_CODE || (signal === 'SIGKILL' && worker.leaseUntil !== undefined && hostMonotonicMs() >= worker.leaseUntil);
}
