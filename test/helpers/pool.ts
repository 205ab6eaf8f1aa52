/**
 * A real pool (supervisor + forked children) in the test process: the one way tests start an
 * in-process daemon. Flags as `worker-pool start` reads them, on the run's Redis under a fresh
 * prefix unless the flags say otherwise, HTTP on a free port. The supervisor's log lines are kept
 * in `logs` (printed too when TEST_LOG_LEVEL is set); its children, whose stdout is the test run's,
 * log nothing unless TEST_LOG_LEVEL asks.
 */
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import type { RawValues } from '../../src/config/load.js';
import { loadWithSecrets } from '../../src/config/secret-files.js';
import { Daemon } from '../../src/daemon/daemon.js';
import type { ScalePolicy } from '../../src/policy/types.js';
import { JobEvents, type JobEvent } from './job-events.js';
import { deletePrefix, queue as queueOn, redisUrl, uniquePrefix } from './redis.js';
import { once } from './wait.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** Every log line the supervisor wrote, parsed. */
export type LogLines = Array<Record<string, unknown>>;

export interface PoolOptions {
  /** Resolve only once min-workers children run (default true); false: as soon as the daemon has started. */
  waitReady?: boolean;
  /** Follow the pool's job starts and ends in BullMQ's event streams, into `events` (default false). */
  followJobs?: boolean;
  /** Print the supervisor's log lines as well as keeping them (default: when TEST_LOG_LEVEL is set). */
  printLogs?: boolean;
  /** A scaling policy instead of the one the flags select. */
  policy?: ScalePolicy;
  /** Called with the pool before its daemon starts: to hear its first workers and decisions, open its queues. */
  beforeStart?: (pool: TestPool) => void | Promise<void>;
}

export interface TestPool {
  daemon: Daemon;
  /** Its HTTP base URL. */
  url: string;
  prefix: string;
  /** The supervisor's log lines (at the flags' log-level, default info). */
  logs: LogLines;
  /** The first of its queues, opened on first use (closed by close()). */
  readonly queue: Queue;
  /** Another queue on its Redis and prefix (closed by close()). */
  openQueue(name: string): Queue;
  /** With followJobs: every job start and end, in the order Redis recorded them. */
  events: JobEvent[];
  jobEvents: JobEvents | undefined;
  /** Stop the daemon as SIGTERM would (once; later calls return the same result). */
  stop(): Promise<{ forced: boolean }>;
  /** Stop, stop following, close its queues and delete its keys from the run's Redis (once). */
  close(): Promise<void>;
}

/** Start a pool from flags. On failure to become ready it is closed and the error thrown. */
export async function startPool(flags: RawValues, opts: PoolOptions = {}): Promise<TestPool> {
  const prefix = (flags['prefix'] as string | undefined) ?? uniquePrefix(String(flags['name'] ?? 'pool'));
  const level = String(flags['log-level'] ?? 'info');
  // The run's Redis unless the flags name another (a URL, Sentinel or Cluster).
  const onRunRedis = flags['redis-sentinels'] === undefined && flags['redis-cluster-nodes'] === undefined;
  const config = loadWithSecrets({
    env: {},
    flags: { ...(onRunRedis ? { 'redis-url': redisUrl() } : {}), 'metrics-port': 0, ...flags, prefix, 'log-level': process.env['TEST_LOG_LEVEL'] ?? 'silent' },
  });
  const logs: LogLines = [];
  const print = opts.printLogs ?? process.env['TEST_LOG_LEVEL'] !== undefined;
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) {
        if (!line.trim()) continue;
        logs.push(JSON.parse(line) as Record<string, unknown>);
        if (print) process.stdout.write(line + '\n');
      }
      done();
    },
  });
  const daemon = new Daemon({ config, log: pino({ level, base: { pool: config.name } }, sink), policy: opts.policy });
  const plainRedis = !config.redisSentinels && !config.redisClusterNodes;
  const jobEvents = opts.followJobs ? new JobEvents(prefix, config.queues, config.redisUrl) : undefined;
  const queues = new Map<string, Queue>();
  const openQueue = (name: string): Queue => {
    if (!plainRedis) throw new Error('this pool is on Sentinel or Cluster: open its queues with a connection of your own');
    let q = queues.get(name);
    if (!q) queues.set(name, (q = queueOn(name, prefix, config.redisUrl)));
    return q;
  };
  let stopped: Promise<{ forced: boolean }> | undefined;
  let closed: Promise<void> | undefined;
  const pool: TestPool = {
    daemon,
    url: '',
    prefix,
    logs,
    get queue() {
      return openQueue(config.queues[0]!);
    },
    openQueue,
    events: jobEvents?.events ?? [],
    jobEvents,
    stop: () => (stopped ??= daemon.stop()),
    close: () =>
      (closed ??= (async () => {
        await pool.stop();
        await jobEvents?.close();
        await Promise.all([...queues.values()].map((q) => q.close()));
        // Keys on a private Redis go with it; on the run's Redis they are deleted here.
        await deletePrefix(prefix);
      })()),
  };
  try {
    await opts.beforeStart?.(pool);
    const ready = opts.waitReady === false ? undefined : waitForRunning(daemon, config.minWorkers);
    ready?.catch(() => undefined); // awaited below; this only keeps a failed start from leaving it unhandled
    await daemon.start();
    pool.url = daemon.url;
    await ready;
  } catch (err) {
    await pool.close().catch(() => undefined);
    throw err;
  }
  return pool;
}

/**
 * For a test file whose tests each start pools: returns startPool, and registers an afterEach that
 * stops every pool the test started (the last started first), then closes them (pools may share
 * a prefix, whose keys go only once none runs).
 */
export function poolPerTest(): typeof startPool {
  const started: TestPool[] = [];
  afterEach(async () => {
    const pools = started.splice(0).reverse();
    for (const p of pools) await p.stop();
    for (const p of pools) await p.close();
  });
  return async (flags, opts) => {
    const p = await startPool(flags, opts);
    started.push(p);
    return p;
  };
}

/** Resolves once `n` workers are running. */
export async function waitForRunning(daemon: Daemon, n: number, timeoutMs = 30_000): Promise<void> {
  if (daemon.supervisor.runningCount() >= n) return;
  await once(daemon.supervisor, 'worker-ready', () => daemon.supervisor.runningCount() >= n, timeoutMs);
}
