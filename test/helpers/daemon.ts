/** A daemon run in the test's own process (its children are real forked processes). */
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Queue } from 'bullmq';
import { pino } from 'pino';
import { afterEach } from 'vitest';
import type { RawValues } from '../../src/config/load.js';
import { loadWithSecrets } from '../../src/config/secret-files.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { deletePrefix, queue as openQueue, redisUrl, uniquePrefix } from './redis.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** Every log line the daemon wrote, parsed. */
export type LogLines = Array<Record<string, unknown>>;

/**
 * Start a daemon from flags (as `worker-pool start` would read them) on a free port. The
 * supervisor's logs (at `log-level`, default info) are kept in `logs`, not printed; its children,
 * whose stdout is the test run's, are silent unless TEST_LOG_LEVEL asks for their lines.
 */
export async function startDaemon(flags: RawValues): Promise<Daemon & { logs: LogLines }> {
  const level = String(flags['log-level'] ?? 'info');
  const config = loadWithSecrets({ flags: { 'metrics-port': '0', ...flags, 'log-level': process.env['TEST_LOG_LEVEL'] ?? 'silent' }, env: {} });
  const logs: LogLines = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ level, base: { pool: config.name } }, sink);
  const daemon = new Daemon({ config, log }) as Daemon & { logs: LogLines };
  daemon.logs = logs;
  await daemon.start();
  return daemon;
}

export interface PoolUnderTest {
  d: Daemon & { logs: LogLines };
  /** The pool's one queue, `q`. */
  q: Queue;
  /** Its own BullMQ key prefix. */
  prefix: string;
}

/**
 * For a test file whose tests each run an in-process pool on one queue `q` of the test Redis:
 * returns `start(name, flags)`, which starts one under a fresh prefix, and registers an afterEach
 * that stops it, closes its queue and deletes its keys.
 */
export function poolPerTest(): (name: string, flags: RawValues) => Promise<PoolUnderTest> {
  let current: { d?: Daemon; q: Queue; prefix: string } | undefined;
  afterEach(async () => {
    const c = current;
    current = undefined;
    if (!c) return;
    await c.d?.stop();
    await c.q.close();
    await deletePrefix(c.prefix);
  });
  return async (name, flags) => {
    const prefix = uniquePrefix(name);
    current = { q: openQueue('q', prefix), prefix };
    current.d = await startDaemon({ 'redis-url': redisUrl(), prefix, queues: 'q', ...flags });
    return { d: current.d as PoolUnderTest['d'], q: current.q, prefix };
  };
}
