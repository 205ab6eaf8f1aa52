/**
 * The messages between the supervisor and a worker child, with guards that check them on receipt.
 * Children get their whole configuration here (never in argv or env), so secrets stay off `ps`.
 */

/** Everything a child needs to run, as plain data. */
export interface WorkerSettings {
  pool: string;
  workerId: string;
  redisUrl: string;
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
}

export type ParentMessage =
  | { type: 'start'; settings: WorkerSettings }
  /** Stop taking jobs; exit once the running ones have finished. */
  | { type: 'drain'; reason: string }
  /** Shutdown deadline passed: put running jobs back in their queues, then exit. */
  | { type: 'hand-back' };

export interface SampleMessage {
  type: 'sample';
  /** The child's own monotonic time (performance.now()) when the counter was read. */
  at: number;
  busyMs: number;
  busySlots: number;
  processed: number;
  failed: number;
  rssBytes: number;
}

export type ChildMessage =
  | { type: 'ready'; at: number }
  | SampleMessage
  | { type: 'job-start'; queue: string; id: string; name: string; token: string; waitMs: number }
  | { type: 'job-end'; queue: string; id: string; name: string; status: 'completed' | 'failed'; durationMs: number; error?: string }
  /** The processor could not be loaded: a failed start, whatever the exit code. */
  | { type: 'load-error'; message: string }
  | { type: 'warn'; message: string };

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null;
}

const num = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);
const str = (x: unknown): x is string => typeof x === 'string';

export function isChildMessage(x: unknown): x is ChildMessage {
  if (!isObject(x)) return false;
  switch (x['type']) {
    case 'ready':
      return num(x['at']);
    case 'sample':
      return num(x['at']) && num(x['busyMs']) && num(x['busySlots']) && num(x['processed']) && num(x['failed']) && num(x['rssBytes']);
    case 'job-start':
      return str(x['queue']) && str(x['id']) && str(x['name']) && str(x['token']) && num(x['waitMs']);
    case 'job-end':
      return str(x['queue']) && str(x['id']) && str(x['name']) && (x['status'] === 'completed' || x['status'] === 'failed') && num(x['durationMs']);
    case 'load-error':
    case 'warn':
      return str(x['message']);
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
        str(s['pool']) && str(s['workerId']) && str(s['redisUrl']) && str(s['prefix']) &&
        Array.isArray(s['queues']) && s['queues'].every(str) && str(s['processor']) &&
        (s['limitedQueues'] === undefined || (Array.isArray(s['limitedQueues']) && s['limitedQueues'].every(str))) &&
        num(s['concurrency']) && num(s['sampleIntervalMs']) && num(s['orphanTimeoutMs']) && str(s['logLevel']) && typeof s['logPretty'] === 'boolean'
      );
    }
    case 'drain':
      return str(x['reason']);
    case 'hand-back':
      return true;
    default:
      return false;
  }
}
