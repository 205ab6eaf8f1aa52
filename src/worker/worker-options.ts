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

const wholeAtLeast = (x: unknown, min: number): boolean => typeof x === 'number' && Number.isInteger(x) && x >= min;
const SETTINGS = ['backoffStrategy', 'repeatStrategy', 'repeatKeyHashAlgorithm'];

/** A value as a message shows it: JSON where it can be, else its type (a function, a class instance with cycles). */
function shown(v: unknown): string {
  if (typeof v === 'function') return 'a function';
  try {
    const json = JSON.stringify(v);
    if (json !== undefined) return json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    // a cycle: fall through to the type
  }
  return typeof v;
}

/**
 * BullMQ's Telemetry: { tracer, contextManager, meter? } with the methods the Worker calls on every
 * job. A wrong value is not refused by BullMQ when the Worker is built: the first job's span throws
 * inside the Worker and the job stays active for good, so it is refused here, when the module loads.
 */
function checkTelemetry(t: unknown, where: string): void {
  const fail = (what: string) =>
    new WorkerOptionsError(`${where}: workerOptions.telemetry ${what}, got ${shown(t)}; give a Telemetry object such as new BullMQOtel({ tracerName }) from bullmq-otel ({ tracer, contextManager, meter? })`);
  if (typeof t !== 'object' || t === null || Array.isArray(t)) throw fail('must be an object');
  const { tracer, contextManager, meter } = t as Record<string, unknown>;
  const hasMethods = (o: unknown, names: string[]) => typeof o === 'object' && o !== null && names.every((n) => typeof (o as Record<string, unknown>)[n] === 'function');
  if (!hasMethods(tracer, ['startSpan'])) throw fail('needs a tracer with startSpan()');
  if (!hasMethods(contextManager, ['with', 'active', 'getMetadata', 'fromMetadata'])) throw fail('needs a contextManager with with(), active(), getMetadata() and fromMetadata()');
  if (meter !== undefined && !hasMethods(meter, ['createCounter', 'createHistogram'])) throw fail('has a meter without createCounter() and createHistogram()');
}

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
  const { limiter, settings, removeOnComplete, removeOnFail, maxStartedAttempts, telemetry, metrics } = raw;
  if (limiter !== undefined && !(isObject(limiter) && positive(limiter['max']) && positive(limiter['duration']))) {
    throw new WorkerOptionsError(`${where}: workerOptions.limiter must be { max: N, duration: MS } with positive numbers, got ${JSON.stringify(limiter)}`);
  }
  if (settings !== undefined) {
    if (!isObject(settings)) throw new WorkerOptionsError(`${where}: workerOptions.settings must be an object ({ backoffStrategy, repeatStrategy, … })`);
    for (const k of Object.keys(settings)) {
      if (!SETTINGS.includes(k)) throw new WorkerOptionsError(`${where}: workerOptions.settings.${k} is not a BullMQ Worker setting (allowed: ${SETTINGS.join(', ')})`);
    }
    for (const k of ['backoffStrategy', 'repeatStrategy'] as const) {
      if (settings[k] !== undefined && typeof settings[k] !== 'function') throw new WorkerOptionsError(`${where}: workerOptions.settings.${k} must be a function, got ${typeof settings[k]}`);
    }
    if (settings['repeatKeyHashAlgorithm'] !== undefined && typeof settings['repeatKeyHashAlgorithm'] !== 'string') {
      throw new WorkerOptionsError(`${where}: workerOptions.settings.repeatKeyHashAlgorithm must be a hash name such as "md5", got ${shown(settings['repeatKeyHashAlgorithm'])}`);
    }
  }
  if (telemetry !== undefined) checkTelemetry(telemetry, where);
  if (metrics !== undefined && !(isObject(metrics) && Object.keys(metrics).every((k) => k === 'maxDataPoints') && (metrics['maxDataPoints'] === undefined || wholeAtLeast(metrics['maxDataPoints'], 1)))) {
    throw new WorkerOptionsError(`${where}: workerOptions.metrics must be { maxDataPoints: N } with N a whole number ≥ 1 (e.g. MetricsTime.ONE_WEEK), got ${shown(metrics)}`);
  }
  for (const k of ['skipStalledCheck', 'skipVersionCheck'] as const) {
    if (raw[k] !== undefined && typeof raw[k] !== 'boolean') throw new WorkerOptionsError(`${where}: workerOptions.${k} must be true or false, got ${shown(raw[k])}`);
  }
  if (removeOnComplete !== undefined) checkKeep('removeOnComplete', removeOnComplete, where);
  if (removeOnFail !== undefined) checkKeep('removeOnFail', removeOnFail, where);
  if (maxStartedAttempts !== undefined && !wholeAtLeast(maxStartedAttempts, 0)) {
    throw new WorkerOptionsError(`${where}: workerOptions.maxStartedAttempts must be a whole number ≥ 0, got ${JSON.stringify(maxStartedAttempts)}`);
  }
  return raw as ModuleWorkerOptions;
}
