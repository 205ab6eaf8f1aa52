/**
 * The messages between the supervisor and a worker child, with guards that check them on receipt.
 * Children get their whole configuration here (never in argv or env), so secrets stay off `ps`.
 */

import type { RedisTarget } from '../redis/connection.js';
import { isQueueJobStats, type QueueJobStats } from './job-stats.js';

/** Everything a child needs to run, as plain data. */
export interface WorkerSettings {
  pool: string;
  workerId: string;
  /**
   * Every lock token the child uses is `${tokenBase}:${n}`. Chosen by the supervisor (unique per
   * child), so that when the child dies it can find every job the child had locked, reported or not.
   */
  tokenBase: string;
  redisUrl: string;
  /** Where Redis is in every mode (Sentinel, Cluster); the child connects with src/redis/connection's connect(). */
  redis?: RedisTarget;
  prefix: string;
  queues: string[];
  /** Queues with a global concurrency limit: a job ending there wakes a waiting worker (BullMQ does not). */
  limitedQueues?: string[];
  processor: string;
  concurrency: number;
  sampleIntervalMs: number;
  /** How long a child whose supervisor vanished keeps finishing jobs before it exits anyway. */
  orphanTimeoutMs: number;
  logLevel: string;
  logPretty: boolean;
  /** BullMQ lock of a running job, renewed at half this (ms). */
  lockDurationMs: number;
  /** How often the child runs BullMQ's stalled-job check (ms). */
  stalledIntervalMs: number;
  /** Stalls (and supervisor hand-backs) a job survives; one more and it fails. */
  maxStalledCount: number;
  /** Longest a job may run before it is failed and the child replaced (ms; 0: no limit). */
  jobTimeoutMs: number;
  /** Jobs a child starts before it stops fetching and asks to be replaced (0: no limit). */
  maxJobs: number;
  /**
   * Until when the fleet lease surely holds, on the host's monotonic clock (ms, see
   * hostMonotonicMs): the child takes no job after it and ends itself then, unless a `lease`
   * message moved it later. Absent: no fleet lease (the child runs until told to stop).
   */
  leaseUntil?: number;
  /** A file the supervisor rewrites with the newest deadline (read by the child's watchdog thread). */
  leaseFile?: string;
}

/**
 * The exit code of a child that ended itself at its lease deadline (the fence): its supervisor did
 * not renew the fleet lease in time (paused, cut off from Redis, gone), so peers may soon take its
 * slot and its jobs. Its running jobs ended with it; they are handed back to their queues.
 */
export const FENCED_EXIT_CODE = 76;

export type ParentMessage =
  | { type: 'start'; settings: WorkerSettings }
  /** Stop taking jobs; exit once the running ones have finished. */
  | { type: 'drain'; reason: string }
  /** Shutdown deadline passed: put running jobs back in their queues, then exit. */
  | { type: 'hand-back' }
  /** Name the jobs you run now (after a failover: which locked jobs are really yours). */
  | { type: 'list-running'; nonce: number }
  /** The fleet lease was renewed: it surely holds until `until` (host monotonic ms). */
  | { type: 'lease'; until: number };

export interface SampleMessage {
  type: 'sample';
  /** The child's own monotonic time (performance.now()) when the counter was read. */
  at: number;
  busyMs: number;
  busySlots: number;
  processed: number;
  failed: number;
  rssBytes: number;
  /**
   * The running jobs that have a time limit, with when it passes (child time): the supervisor
   * ends such a job itself when the child's loop is blocked past it (see FreezeWatch).
   */
  deadlines?: JobDeadline[];
  /** The child's own CPU time so far (process.cpuUsage(), µs); absent from children that predate it. */
  cpu?: { user: number; system: number };
  /** Jobs the child has started since it began (the watchdog sees whether it still takes any). */
  started?: number;
  /** Fetches that failed since it began (READONLY, NOPERM, Redis down): readiness and a metric. */
  fetchErrors?: number;
  /** Bytes of the child's log lines dropped since it began because stdout was not read (absent from older children). */
  logDroppedBytes?: number;
  /**
   * The jobs started and ended since the previous sample, per queue (only queues that had any):
   * the supervisor's job counters and histograms are fed from these, never from a message per job.
   */
  jobs?: QueueJobStats[];
  /**
   * Every job the child runs now, as [index of its queue in settings.queues, job id, number of its
   * lock token (`${tokenBase}:${n}`)]: at most `concurrency` entries. The supervisor renews these
   * locks (and only these) and hands these jobs back if the child dies.
   */
  running?: RunningEntry[];
  /** The number of the last lock token the child made: a lock with a higher one was taken after this sample. */
  tokenSeq?: number;
}

/** One running job in a sample: [queue index, job id, token number]. */
export type RunningEntry = [number, string, number];

/** Most running jobs a sample may list (a child's concurrency is far below). */
export const MAX_RUNNING_ENTRIES = 100_000;

const isRunningEntry = (e: unknown): e is RunningEntry =>
  Array.isArray(e) && e.length === 3 && Number.isInteger(e[0]) && (e[0] as number) >= 0 && typeof e[1] === 'string' && Number.isInteger(e[2]) && (e[2] as number) > 0;

export interface JobDeadline {
  queue: string;
  id: string;
  token: string;
  /** When the job's time limit passes, on the child's clock (performance.now()). */
  at: number;
  limitMs: number;
}

export type ChildMessage =
  | { type: 'ready'; at: number }
  /** The answer to list-running: `${queue}:${id}` of every job the child runs now. */
  | { type: 'running'; nonce: number; jobs: string[] }
  | SampleMessage
  /** The processor could not be loaded: a failed start, whatever the exit code. */
  | { type: 'load-error'; message: string }
  /**
   * The connection dropped during a command that fetches (a fetch, or a completion that takes the
   * next job): any job locked with the token, other than `keep`, is nobody's.
   */
  | { type: 'fetch-uncertain'; queue: string; token: string; keep: string }
  /** A running job was put back in its queue by the child itself (forced shutdown). */
  | { type: 'job-returned'; queue: string; id: string }
  /** BullMQ's stalled check in this child moved a job whose lock had expired back to waiting. */
  | { type: 'job-stalled'; queue: string; id: string }
  /** The child stopped taking jobs and wants a successor (job quota reached, a job timed out). */
  | { type: 'retire'; reason: 'max_jobs' | 'job_timeout' };

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const str = (x: unknown): x is string => typeof x === 'string';

function isDeadline(d: unknown): d is JobDeadline {
  return isObject(d) && str(d['queue']) && str(d['id']) && str(d['token']) && num(d['at']) && num(d['limitMs']);
}

const isCpuUsage = (x: unknown): boolean => isObject(x) && num(x['user']) && num(x['system']);

export function isChildMessage(x: unknown): x is ChildMessage {
  if (!isObject(x)) return false;
  switch (x['type']) {
    case 'ready':
      return num(x['at']);
    case 'sample':
      return (
        num(x['at']) && num(x['busyMs']) && num(x['busySlots']) && num(x['processed']) && num(x['failed']) && num(x['rssBytes']) &&
        (x['deadlines'] === undefined || (Array.isArray(x['deadlines']) && x['deadlines'].every(isDeadline))) &&
        (x['cpu'] === undefined || isCpuUsage(x['cpu'])) &&
        (x['started'] === undefined || num(x['started'])) && (x['fetchErrors'] === undefined || num(x['fetchErrors'])) &&
        (x['logDroppedBytes'] === undefined || num(x['logDroppedBytes'])) &&
        (x['jobs'] === undefined || (Array.isArray(x['jobs']) && x['jobs'].every(isQueueJobStats))) &&
        (x['running'] === undefined || (Array.isArray(x['running']) && x['running'].length <= MAX_RUNNING_ENTRIES && x['running'].every(isRunningEntry))) &&
        (x['tokenSeq'] === undefined || (Number.isInteger(x['tokenSeq']) && (x['tokenSeq'] as number) >= 0))
      );
    case 'running':
      return num(x['nonce']) && Array.isArray(x['jobs']) && x['jobs'].every(str);
    case 'load-error':
      return str(x['message']);
    case 'fetch-uncertain':
      return str(x['queue']) && str(x['token']) && str(x['keep']);
    case 'job-returned':
    case 'job-stalled':
      return str(x['queue']) && str(x['id']);
    case 'retire':
      return x['reason'] === 'max_jobs' || x['reason'] === 'job_timeout';
    default:
      return false;
  }
}

export function isParentMessage(x: unknown): x is ParentMessage {
  if (!isObject(x)) return false;
  switch (x['type']) {
    case 'start': {
      const s = x['settings'];
      return (
        isObject(s) &&
        str(s['pool']) && str(s['workerId']) && str(s['tokenBase']) && s['tokenBase'] !== '' && str(s['redisUrl']) && str(s['prefix']) &&
        (s['redis'] === undefined || (isObject(s['redis']) && str(s['redis']['url']))) &&
        Array.isArray(s['queues']) && s['queues'].every(str) && str(s['processor']) &&
        (s['limitedQueues'] === undefined || (Array.isArray(s['limitedQueues']) && s['limitedQueues'].every(str))) &&
        num(s['concurrency']) && num(s['sampleIntervalMs']) && num(s['orphanTimeoutMs']) && str(s['logLevel']) && typeof s['logPretty'] === 'boolean' &&
        num(s['lockDurationMs']) && num(s['stalledIntervalMs']) && num(s['maxStalledCount']) && num(s['jobTimeoutMs']) && num(s['maxJobs']) &&
        (s['leaseUntil'] === undefined || num(s['leaseUntil'])) && (s['leaseFile'] === undefined || str(s['leaseFile']))
      );
    }
    case 'drain':
      return str(x['reason']);
    case 'hand-back':
      return true;
    case 'list-running':
      return num(x['nonce']);
    case 'lease':
      return num(x['until']);
    default:
      return false;
  }
}
