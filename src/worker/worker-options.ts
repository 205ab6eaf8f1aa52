/**
 * The BullMQ Worker options a processor module may export (`export const workerOptions = {…}`):
 * those that change how a job is settled or traced pass to every BullMQ Worker of the child; those
 * the pool owns (connection, concurrency, locks, fetching, processes) are refused with the pool
 * flag that sets them instead.
 */
import type { WorkerOptions } from 'bullmq';

/** The options a module may set; each goes unchanged to the child's BullMQ Workers. */
export type ModuleWorkerOptions = Pick<
  WorkerOptions,
  'limiter' | 'settings' | 'removeOnComplete' | 'removeOnFail' | 'telemetry' | 'metrics' | 'maxStartedAttempts' | 'skipStalledCheck' | 'skipVersionCheck'
>;

const ALLOWED = new Set<string>(['limiter', 'settings', 'removeOnComplete', 'removeOnFail', 'telemetry', 'metrics', 'maxStartedAttempts', 'skipStalledCheck', 'skipVersionCheck']);

/** Options the pool owns, and what to use instead. */
const OWNED: Record<string, string> = {
  connection: 'the pool connects its workers itself; use --redis-url (or --redis-sentinels / --redis-cluster-nodes)',
  prefix: 'use --prefix',
  name: 'the pool names its workers; use --name',
  concurrency: 'use --concurrency (jobs per worker) and --min-workers/--max-workers',
  autorun: 'the pool starts and stops its workers',
  lockDuration: 'use --lock-duration',
  lockRenewTime: 'the pool renews locks at half of --lock-duration',
  skipLockRenewal: 'the pool renews locks; use --lock-duration',
  stalledInterval: 'use --stalled-interval',
  maxStalledCount: 'use --max-stalled-count',
  drainDelay: 'the pool fetches jobs itself (it blocks on all its queues at once)',
  maximumRateLimitDelay: 'the pool fetches jobs itself and waits out a rate limit to its end',
  runRetryDelay: 'the pool retries Redis itself',
  useWorkerThreads: 'each worker is already its own process; use --concurrency and --max-workers',
  workerForkOptions: 'each worker is already its own process forked by the pool',
  workerThreadsOptions: 'each worker is already its own process; use --concurrency and --max-workers',
  blockingConnection: 'the pool owns its connections',
  skipWaitingForReady: 'the pool owns its connections',
};

export class WorkerOptionsError extends Error {
  override readonly name = 'WorkerOptionsError';
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === 'object' && x !== null && !Array.isArray(x);
const positive = (x: unknown): boolean => typeof x === 'number' && Number.isFinite(x) && x > 0;

/** A KeepJobs value BullMQ 6.7 accepts on a Worker: a count, or { count?, age? }. `true` breaks it (a Lua error). */
function checkKeep(key: string, v: unknown, where: string): void {
  if (typeof v === 'number' && Number.isInteger(v) && v >= 0) return;
  if (v === false) return;
  if (isObject(v) && Object.keys(v).every((k) => (k === 'count' || k === 'age' || k === 'limit') && typeof v[k] === 'number')) return;
  const hint = v === true ? ' (true breaks BullMQ 6.7 Workers; set it in the job options, or give { count: 0 })' : '';
  throw new WorkerOptionsError(`${where}: workerOptions.${key} must be a number of jobs or { count?, age? }, got ${JSON.stringify(v)}${hint}`);
}

/** Check a module's `workerOptions` export (undefined: none). Throws WorkerOptionsError with a one-line reason. */
export function toWorkerOptions(raw: unknown, where: string): ModuleWorkerOptions {
  if (raw === undefined) return {};
  if (!isObject(raw)) throw new WorkerOptionsError(`${where}: workerOptions must be an object of BullMQ Worker options, got ${raw === null ? 'null' : typeof raw}`);
  for (const key of Object.keys(raw)) {
    if (key in OWNED) throw new WorkerOptionsError(`${where}: workerOptions.${key} is set by the pool, not the processor: ${OWNED[key]}`);
    if (!ALLOWED.has(key)) throw new WorkerOptionsError(`${where}: workerOptions.${key} is not a BullMQ Worker option the pool passes on (allowed: ${[...ALLOWED].join(', ')})`);
  }
  const { limiter, settings, removeOnComplete, removeOnFail, maxStartedAttempts } = raw;
  if (limiter !== undefined && !(isObject(limiter) && positive(limiter['max']) && positive(limiter['duration']))) {
    throw new WorkerOptionsError(`${where}: workerOptions.limiter must be { max: N, duration: MS } with positive numbers, got ${JSON.stringify(limiter)}`);
  }
  if (settings !== undefined) {
    if (!isObject(settings)) throw new WorkerOptionsError(`${where}: workerOptions.settings must be an object ({ backoffStrategy, repeatStrategy, … })`);
    for (const k of ['backoffStrategy', 'repeatStrategy'] as const) {
      if (settings[k] !== undefined && typeof settings[k] !== 'function') throw new WorkerOptionsError(`${where}: workerOptions.settings.${k} must be a function, got ${typeof settings[k]}`);
    }
  }
  if (removeOnComplete !== undefined) checkKeep('removeOnComplete', removeOnComplete, where);
  if (removeOnFail !== undefined) checkKeep('removeOnFail', removeOnFail, where);
  if (maxStartedAttempts !== undefined && !(typeof maxStartedAttempts === 'number' && Number.isInteger(maxStartedAttempts) && maxStartedAttempts >= 0)) {
    throw new WorkerOptionsError(`${where}: workerOptions.maxStartedAttempts must be a whole number ≥ 0, got ${JSON.stringify(maxStartedAttempts)}`);
  }
  return raw as ModuleWorkerOptions;
}
