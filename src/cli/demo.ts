/**
 * `worker-pool demo`: RQ Orchestrator's demonstration, live. A pool (min 2, max 5, threshold 0.5,
 * period 5 s, window 30 s) on a private Redis gets 2 jobs a second of 1 second each for the first
 * half, then nothing; one line per scaling period shows it grow to 4–5 workers and come back to 2.
 */
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { loadConfig } from '../config/load.js';
import { Daemon } from '../daemon/daemon.js';
import { createLogger } from '../logger.js';
import { connect } from '../redis/connection.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../redis/embedded.js';

export interface DemoOptions {
  redisUrl: string | undefined;
  /** Total seconds; jobs arrive during the first half. */
  duration: number;
  rate: number;
  jobSeconds: number;
  scalingPeriod: number;
  window: number;
}

export const DEMO_PROCESSOR = fileURLToPath(new URL('../../dist/demo/processor.js', import.meta.url));

export async function runDemo(o: DemoOptions, out: (line: string) => void = console.log): Promise<number> {
  let redis: EmbeddedRedis | undefined;
  let redisUrl = o.redisUrl;
  if (!redisUrl) {
    redis = await startEmbeddedRedis();
    redisUrl = redis.url;
    out(`started a private redis-server at ${redisUrl} (dir ${redis.dir})`);
  }
  const prefix = `worker-pool-demo-${process.pid}`;
  const config = loadConfig({
    env: {},
    flags: {
      name: 'demo',
      'redis-url': redisUrl,
      prefix,
      queues: 'default',
      processor: DEMO_PROCESSOR,
      concurrency: 1,
      'min-workers': 2,
      'max-workers': 5,
      'utilization-threshold': 0.5,
      'scaling-period': o.scalingPeriod,
      window: o.window,
      'metrics-port': 0,
      'stop-timeout': Math.max(5, o.jobSeconds * 3),
      'log-level': 'warn',
    },
  });
  const daemon = new Daemon({ config, log: createLogger({ level: 'warn', pretty: process.stdout.isTTY === true, base: { pool: 'demo' } }) });
  const client = connect(redisUrl, { connectionName: 'worker-pool:demo-producer' });
  const queue = new Queue('default', { connection: client, prefix });
  let offered = 0;
  let completed = 0;
  let failed = 0;
  let peak = 0;
  const loadSeconds = o.duration / 2;
  daemon.supervisor.on('worker-message', (_w, msg) => {
    if (msg.type !== 'sample' || !msg.jobs) return;
    for (const q of msg.jobs) (completed += q.completed, failed += q.failed);
  });
  await daemon.start();
  out(`pool "demo": min 2, max 5, threshold 0.5 (remove below 0.25), scaling period ${o.scalingPeriod} s, window ${o.window} s`);
  out(`live page: ${daemon.url}/   (status as JSON: ${daemon.url}/status, jobs: ${daemon.url}/jobs)`);
  out(`load: ${o.rate} jobs/s of ${o.jobSeconds} s for ${loadSeconds} s, then none for ${o.duration - loadSeconds} s\n`);
  out('  time  offered/s  workers  utilization  decision');
  const t0 = performance.now();
  const elapsed = () => (performance.now() - t0) / 1000;
  let lastOffered = 0;
  let lastAt = 0;
  daemon.loop.onDecision((d) => {
    const t = elapsed();
    const rate = t > lastAt ? (offered - lastOffered) / (t - lastAt) : 0;
    lastOffered = offered;
    lastAt = t;
    peak = Math.max(peak, d.workersAfter);
    const util = d.utilization === null ? '   -' : d.utilization.toFixed(2);
    const change = d.workersAfter === d.workersBefore ? `${d.workersAfter}` : `${d.workersBefore}→${d.workersAfter}`;
    out(`${t.toFixed(0).padStart(5)}s  ${rate.toFixed(1).padStart(9)}  ${change.padStart(7)}  ${util.padStart(11)}  ${d.action.padEnd(4)} ${d.reason}`);
  });

  const intervalMs = 1000 / o.rate;
  await new Promise<void>((resolve) => {
    const producer = setInterval(() => {
      if (elapsed() >= loadSeconds) {
        clearInterval(producer);
        resolve();
        return;
      }
      offered++;
      void queue.add('sleep', { ms: o.jobSeconds * 1000 }, { removeOnComplete: { count: 1000 }, removeOnFail: { count: 1000 } });
    }, intervalMs);
  });
  await new Promise((r) => setTimeout(r, Math.max(0, (o.duration - elapsed()) * 1000)));
  const finalWorkers = daemon.supervisor.desired;
  const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'failed');
  const { forced } = await daemon.stop();
  await queue.close();
  client.disconnect();
  await redis?.stop();
  out('');
  out(`summary: ${offered} jobs offered, ${completed} completed, ${failed} failed, ${counts.waiting ?? 0} still waiting; workers 2 → peak ${peak} → ${finalWorkers} at the end${forced ? ' (stop was forced)' : ''}`);
  return failed > 0 || forced ? 1 : 0;
}
