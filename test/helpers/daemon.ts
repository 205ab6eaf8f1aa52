/** A daemon run in the test's own process (its children are real forked processes). */
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { loadConfig, type RawValues } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** Every log line the daemon wrote, parsed. */
export type LogLines = Array<Record<string, unknown>>;

/** Start a daemon from flags (as `worker-pool start` would read them) on a free port; its logs are kept, not printed. */
export async function startDaemon(flags: RawValues): Promise<Daemon & { logs: LogLines }> {
  const config = loadConfig({ flags: { 'log-level': 'info', 'metrics-port': '0', ...flags }, env: {} });
  const logs: LogLines = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = pino({ level: config.logLevel, base: { pool: config.name } }, sink);
  const daemon = new Daemon({ config, log }) as Daemon & { logs: LogLines };
  daemon.logs = logs;
  await daemon.start();
  return daemon;
}
