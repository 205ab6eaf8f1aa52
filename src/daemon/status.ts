/**
 * What the pool says about itself: alive (the control loop ticks on time), ready (and why not),
 * and the whole state as GET /status and `worker-pool status` show it.
 */
import type { ReloadRecord } from './reload.js';
import type { PoolParts, PoolState } from './state.js';
import { readinessReasons } from '../observe/readiness.js';
import type { QueueCounts } from '../redis/queue-counts.js';
import type { Failover } from '../redis/redis-watch.js';
import type { DecisionRecord } from '../scaling/control-loop.js';
import { redactText, redactUrl } from '../secrets.js';
import { VERSION } from '../version.js';

export interface WorkerStatus {
  id: string;
  pid: number | undefined;
  state: string;
  busy: number;
  concurrency: number;
  processed: number;
  failed: number;
  rssBytes: number;
  uptimeSeconds: number;
}

export interface PoolStatus {
  pool: string;
  version: string;
  redis: {
    url: string;
    up: boolean;
    /** Where the supervisor's connection goes now ("host:port"; every master of a cluster). */
    masters: string[];
    failovers: number;
    lastFailover: Failover | null;
    reconnections: number;
    evictionPolicy: string | null;
    /** BullMQ's eviction-policy warning, when the policy is not noeviction. */
    warning: string | null;
  };
  /** Failed job fetches of the workers, from their samples. */
  fetchErrors: number;
  /** Why the pool is not ready (empty when ready). */
  readyReasons: string[];
  queues: string[];
  concurrency: number;
  globalConcurrency: Record<string, number>;
  minWorkers: number;
  maxWorkers: number;
  desiredWorkers: number;
  runningWorkers: number;
  fatalSlots: Array<{ id: string; failedStarts: number; retryInSeconds: number; lastError: string | undefined }>;
  utilization: number | null;
  utilizationThreshold: number;
  scalingPeriodSeconds: number;
  windowSeconds: number;
  ready: boolean;
  workers: WorkerStatus[];
  decisions: DecisionRecord[];
  /** The last scaling decisions that changed the size (holds left out), across restarts; oldest first. */
  changes: DecisionRecord[];
  queueCounts: Record<string, QueueCounts> | null;
  /** Per queue: seconds the oldest runnable job has waited (null when Redis did not answer). */
  queueOldestAgeSeconds: Record<string, number> | null;
  pausedQueues: string[];
  lastReload: ReloadRecord | null;
}

/** In place of an error in /status for a client that is not authenticated (docs/http.md). */
export const HIDDEN = 'hidden: shown only to a credential with role read or admin (--http-config), or to any client of a pool bound to loopback without an access file; the daemon log has it';

/** The control loop ticked within three periods (and a second): what /healthz and systemd's watchdog ask. */
export function healthy(parts: Pick<PoolParts, 'loop' | 'clock'>): boolean {
  const { loop, clock } = parts;
  const last = loop.lastTickAt;
  if (last === undefined || !loop.running) return false;
  return clock.now() - last < loop.limits.scalingPeriodMs * 3 + 1000;
}

/** Why the pool is not ready (empty: ready). The /readyz route prints these. */
export async function readiness(parts: PoolParts): Promise<string[]> {
  const { queueCounts, redisWatch, supervisor, loop, fetchHealth, reachability, fleet, clock } = parts;
  const up = await queueCounts.ping();
  if (up) await redisWatch.refresh(clock.now());
  const running = supervisor.workers().filter((w) => w.state === 'running');
  return readinessReasons({
    redisUp: up,
    loopHealthy: healthy(parts),
    running: supervisor.runningCount(),
    minWorkers: loop.limits.minWorkers,
    fatalSlots: supervisor.fatalCount(),
    fetchFailing: fetchHealth.failingCount(running),
    fetchErrorsTotal: fetchHealth.total,
    replicaOf: redisWatch.replicaOf,
    redisDown: up ? undefined : reachability.describe(),
    unregistered: fleet.id === undefined ? (fleet.lastError ?? 'registering') : undefined,
  });
}

/**
 * The pool's state. `private: false` (an unauthenticated client of a pool that others can reach)
 * leaves out what may hold secrets: a fatal slot's last error (its stderr) and a refused reload's
 * error; `private: true` shows them with every password redacted, as the log does.
 */
export async function poolStatus(parts: PoolParts, state: PoolState, lastReload: ReloadRecord | undefined, opts: { private: boolean }): Promise<PoolStatus> {
  const { queueCounts, redisWatch: w, supervisor, loop, fetchHealth, history, clock } = parts;
  const c = state.config;
  const now = clock.now();
  const readyReasons = await readiness(parts);
  const snap = queueCounts.redisUp ? await queueCounts.snapshot().catch(() => null) : null;
  const perQueue = <T>(f: (s: NonNullable<typeof snap>[string]) => T) => (snap ? Object.fromEntries(Object.entries(snap).map(([q, s]) => [q, f(s)])) : null);
  const hide = (error: string | undefined) => (error === undefined ? undefined : opts.private ? redactText(error) : HIDDEN);
  return {
    pool: c.name,
    version: VERSION,
    redis: {
      url: redactUrl(c.redisUrl),
      up: queueCounts.redisUp,
      masters: w.masters,
      failovers: w.failovers,
      lastFailover: w.lastFailover ?? null,
      reconnections: w.reconnections,
      evictionPolicy: w.evictionPolicy ?? null,
      warning: w.evictionWarning() ?? null,
    },
    fetchErrors: fetchHealth.total,
    readyReasons,
    queues: c.queues,
    concurrency: c.concurrency,
    globalConcurrency: c.globalConcurrency,
    minWorkers: loop.limits.minWorkers,
    maxWorkers: loop.limits.maxWorkers,
    desiredWorkers: supervisor.desired,
    runningWorkers: supervisor.runningCount(),
    fatalSlots: supervisor
      .slotList()
      .filter((s) => s.fatalUntil !== undefined)
      .map((s) => ({ id: s.name, failedStarts: s.failedStarts, retryInSeconds: Math.max(0, Math.round((s.fatalUntil! - now) / 1000)), lastError: hide(s.lastError) })),
    utilization: supervisor.utilization(),
    utilizationThreshold: loop.limits.threshold,
    scalingPeriodSeconds: loop.limits.scalingPeriodMs / 1000,
    windowSeconds: supervisor.usage.window / 1000,
    ready: readyReasons.length === 0,
    workers: supervisor.workers().map((wp) => ({
      id: wp.id,
      pid: wp.pid,
      state: wp.state,
      busy: wp.busySlots,
      concurrency: wp.concurrency,
      processed: wp.processed,
      failed: wp.failed,
      rssBytes: wp.rssBytes,
      uptimeSeconds: Math.round((now - wp.forkedAt) / 100) / 10,
    })),
    decisions: loop.decisions.slice(-20),
    changes: history.changes(20),
    queueCounts: perQueue((s) => s.counts),
    queueOldestAgeSeconds: perQueue((s) => Math.round(s.oldestAgeSeconds * 10) / 10),
    pausedQueues: snap ? Object.entries(snap).filter(([, s]) => s.paused).map(([q]) => q) : [],
    lastReload: !lastReload ? null : lastReload.error === undefined ? lastReload : { ...lastReload, error: hide(lastReload.error) },
  };
}
