/**
 * A reload (SIGHUP) of an already validated config: scaling limits, window and timeouts at once;
 * new worker settings by replacing workers one at a time; settings that need a restart kept as
 * they were, with a warning. All or nothing: a part that cannot take the new config puts every part
 * back and the reload is refused.
 */
import type { PoolConfig } from '../config/load.js';
import { planReload, type ReloadPlan } from '../config/reload-plan.js';
import type { JobBoard } from '../http/job-board.js';
import { redactText } from '../secrets.js';
import { workerSettings } from './parts.js';
import type { PoolParts, PoolState } from './state.js';

/** The outcome of the last reload (SIGHUP), for logs and /status. */
export interface ReloadRecord {
  /** Epoch ms. */
  at: number;
  ok: boolean;
  changed: string[];
  needRestart: string[];
  error?: string;
}

/** The pool's Queue objects for its queues (shared by the queue counts reader and the job board). */
export function poolQueues(parts: Pick<PoolParts, 'queueCounts'>, config: PoolConfig) {
  return config.queues.map((q) => parts.queueCounts.queue(q)).filter((q) => q !== undefined);
}

/**
 * Apply `next` to every part. Resolves once the changes are in effect (before the rollout of new
 * worker settings ends) with what was done; rejects, with the old config back in place, if refused.
 */
export async function reloadPool(parts: PoolParts, state: PoolState, board: JobBoard, next: PoolConfig): Promise<{ plan: ReloadPlan; record: ReloadRecord }> {
  const { log, arrivals, globalConcurrency, rollout, clock } = parts;
  const old = state.config;
  const plan = planReload(old, next);
  const c = plan.effective;
  try {
    await applyConfig(parts, state, board, c);
  } catch (err) {
    await applyConfig(parts, state, board, old).catch((e: unknown) => log.error({ err: (e as Error).message }, 'reload: could not restore the previous config everywhere'));
    throw err;
  }
  arrivals.setQueues(c.queues);
  try {
    await globalConcurrency.apply(c.globalConcurrency);
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'reload: could not update global concurrency in Redis yet; retrying every scaling period');
  }
  if (plan.needRestart.length > 0) log.warn({ keys: plan.needRestart }, 'reload: these settings only change with a restart; keeping their old values');
  log.info({ changed: plan.changed, replaceWorkers: plan.replaceWorkers, minWorkers: c.minWorkers, maxWorkers: c.maxWorkers, concurrency: c.concurrency }, 'config reloaded');
  if (plan.replaceWorkers && !state.stopping) void rollout.replaceOutdated();
  return { plan, record: { at: clock.wallNow(), ok: true, changed: plan.changed, needRestart: plan.needRestart } };
}

/** A reload that was refused (the new file is invalid): the old config stays. */
export function refusedReload(parts: Pick<PoolParts, 'log' | 'clock'>, given: string): ReloadRecord {
  const error = redactText(given);
  parts.log.error({ err: error }, 'reload refused; keeping the current config');
  return { at: parts.clock.wallNow(), ok: false, changed: [], needRestart: [], error };
}

/** Hand a config to every part: the ones that can refuse it (they open queues) first. */
async function applyConfig(parts: PoolParts, state: PoolState, board: JobBoard, c: PoolConfig): Promise<void> {
  const { queueCounts, events, log, loop, supervisor } = parts;
  await queueCounts.setQueues(c.queues);
  await events.setQueues(c.queues);
  state.config = c;
  board.setQueues(poolQueues(parts, c));
  log.level = c.logLevel;
  loop.setLimits({ minWorkers: c.minWorkers, maxWorkers: c.maxWorkers, threshold: c.utilizationThreshold, scalingPeriodMs: c.scalingPeriod * 1000 });
  supervisor.usage.resize(c.window * 1000);
  supervisor.updateSettings(workerSettings(c), { maxJobsPerWorker: c.maxJobsPerWorker, maxMemoryMb: c.maxMemoryMb });
  const desired = supervisor.desired;
  if (!state.stopping && loop.running && (desired < c.minWorkers || desired > c.maxWorkers)) {
    supervisor.setDesired(Math.min(c.maxWorkers, Math.max(c.minWorkers, desired)));
  }
}
