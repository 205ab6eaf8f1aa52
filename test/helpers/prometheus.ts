/**
 * A real Prometheus (Debian's `prometheus` package) for tests: started with a config file written
 * into a directory of the test's, on a free port, ready once /-/ready answers. A missing binary
 * fails the start with the reason, never a skip.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort } from '../../src/redis/embedded.js';
import { until } from './wait.js';

export interface Prometheus {
  /** http://127.0.0.1:PORT of its API. */
  url: string;
  /** What it wrote to stderr (and a spawn error). */
  log: string[];
  /** SIGTERM, and wait for its exit. */
  stop(): Promise<void>;
}

/** Start Prometheus with these config lines (YAML) as dir/prometheus.yml, its storage in dir/data. */
export async function startPrometheus(dir: string, config: string[]): Promise<Prometheus> {
  const port = await freePort();
  const file = path.join(dir, 'prometheus.yml');
  writeFileSync(file, config.join('\n') + '\n');
  const proc = spawn('prometheus', [`--config.file=${file}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log: string[] = [];
  proc.on('error', (err) => log.push(`spawn error: ${err.message} (install Debian's "prometheus" package)`));
  proc.stderr!.on('data', (c: Buffer) => log.push(c.toString()));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (proc.pid === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    await exited;
  };
  try {
    await until(async () => (await fetch(`${url}/-/ready`)).ok, 'Prometheus ready', 30_000, 100);
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}: ${log.join('')}`);
  }
  return { url, log, stop };
}
