/** A real pool (supervisor + forked children) in the test process, on the run's Redis with its own prefix. */
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import type { RawValues } from '../../src/config/load.js';
import { loadWithSecrets } from '../../src/config/secret-files.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { JobEvents, type JobEvent } from './job-events.js';
import { deletePrefix, redisUrl, uniquePrefix } from './redis.js';
import { once } from './wait.js';

export const fixture = (name: string) => fileURLToPath(new URL(`../fixtures/${name}`, import.meta.url));

export interface TestPool {
  daemon: Daemon;
  prefix: string;
  /** Every job start and end, in the order Redis recorded them, with the worker slot (from BullMQ's event streams). */
  events: JobEvent[];
  jobEvents: JobEvents;
  stop(): Promise<{ forced: boolean }>;
}

export async function startPool(flags: RawValues, opts: { waitReady?: boolean } = {}): Promise<TestPool> {
  const prefix = (flags['prefix'] as string | undefined) ?? uniquePrefix();
  const config = loadWithSecrets({
    env: {},
    flags: { 'redis-url': redisUrl(), 'metrics-port': 0, 'log-level': 'silent', prefix, ...flags },
  });
  const log = pino({ level: process.env['TEST_LOG_LEVEL'] ?? 'silent' });
  const daemon = new Daemon({ config, log });
  const jobEvents = new JobEvents(prefix, daemon.supervisor.settings.queues);
  const readyAll = opts.waitReady === false ? Promise.resolve() : waitForRunning(daemon, config.minWorkers);
  await daemon.start();
  await readyAll;
  return {
    daemon,
    prefix,
    events: jobEvents.events,
    jobEvents,
    async stop() {
      const r = await daemon.stop();
      await jobEvents.close();
      await deletePrefix(prefix);
      return r;
    },
  };
}

/** Resolves once `n` workers are running. */
export async function waitForRunning(daemon: Daemon, n: number, timeoutMs = 30_000): Promise<void> {
  if (daemon.supervisor.runningCount() >= n) return;
  await once(daemon.supervisor, 'worker-ready', () => daemon.supervisor.runningCount() >= n, timeoutMs);
}
