/**
 * Metrics read from Redis when scraped (queue depth by state, oldest job age, Redis up) and the
 * build's identity. One scrape reads Redis once: the gauges share the probe's in-flight snapshot.
 * When Redis does not answer, the queue series disappear and `worker_pool_redis_up` is 0.
 */
import { createRequire } from 'node:module';
import { Gauge, type Registry } from 'prom-client';
import { COUNT_STATES, type QueueCountsReader, type QueueSnapshot } from '../redis/queue-counts.js';
import { OTHER_QUEUES } from './queue-label.js';

export interface BuildInfo {
  version: string;
  bullmq_version: string;
  node_version: string;
}

export function buildInfo(version: string): BuildInfo {
  const require = createRequire(import.meta.url);
  let bullmq = 'unknown';
  try {
    bullmq = (require('bullmq/package.json') as { version: string }).version;
  } catch {
    // bullmq without a readable package.json: report it as unknown rather than fail the scrape
  }
  return { version, bullmq_version: bullmq, node_version: process.versions.node };
}

/** `queueLimit`: queues with their own `queue` series (the first listed); the rest are summed as `_other`. */
export function registerQueueMetrics(registry: Registry, probe: QueueCountsReader, build: BuildInfo, queueLimit = Infinity): void {
  const read = async (): Promise<Record<string, QueueSnapshot> | null> => {
    let snap: Record<string, QueueSnapshot>;
    try {
      snap = await probe.snapshot();
    } catch {
      return null;
    }
    const names = Object.keys(snap);
    if (names.length <= queueLimit) return snap;
    // Entries, not `out[name] =`: a queue may be called "__proto__".
    const out: Array<[string, QueueSnapshot]> = names.slice(0, queueLimit).map((name) => [name, snap[name]!]);
    let other: QueueSnapshot | undefined;
    for (const name of names.slice(queueLimit)) {
      const s = snap[name]!;
      if (!other) other = { ...s, counts: { ...s.counts } };
      else {
        for (const state of COUNT_STATES) other.counts[state] += s.counts[state];
        other.oldestAgeSeconds = Math.max(other.oldestAgeSeconds, s.oldestAgeSeconds);
      }
    }
    out.push([OTHER_QUEUES, other!]);
    return Object.fromEntries(out);
  };

  new Gauge({
    name: 'worker_pool_queue_jobs',
    help: 'Jobs in each queue by state, read from Redis at scrape time (paused: waiting jobs of a paused queue).',
    labelNames: ['queue', 'state'],
    registers: [registry],
    async collect() {
      this.reset();
      const snap = await read();
      if (!snap) return;
      for (const [queue, s] of Object.entries(snap)) for (const state of COUNT_STATES) this.set({ queue, state }, s.counts[state]);
    },
  });
  new Gauge({
    name: 'worker_pool_queue_oldest_job_age_seconds',
    help: 'How long the oldest job that could run now has waited (wait list head or first prioritized job; 0 when none).',
    labelNames: ['queue'],
    registers: [registry],
    async collect() {
      this.reset();
      const snap = await read();
      if (!snap) return;
      for (const [queue, s] of Object.entries(snap)) this.set({ queue }, s.oldestAgeSeconds);
    },
  });
  new Gauge({
    name: 'worker_pool_redis_up',
    help: 'Whether the supervisor could read the queues from Redis at this scrape (1) or not (0).',
    registers: [registry],
    async collect() {
      this.set((await read()) ? 1 : 0);
    },
  });
  new Gauge({
    name: 'worker_pool_build_info',
    help: 'Always 1; the labels say which worker-pool, BullMQ and Node.js run.',
    labelNames: ['version', 'bullmq_version', 'node_version'],
    registers: [registry],
  }).set({ ...build }, 1);
}
