/** A daemon run in the test's own process (its children are real forked processes). */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig, type RawValues } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon.js';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

export function fixture(name: string): string {
  return path.join(FIXTURES, name);
}

/** Start a daemon from flags (as `worker-pool start` would read them), quiet and on a free port. */
export async function startDaemon(flags: RawValues): Promise<Daemon> {
  const config = loadConfig({ flags: { 'log-level': 'warn', 'metrics-port': '0', ...flags }, env: {} });
  const daemon = new Daemon({ config });
  await daemon.start();
  return daemon;
}
