/**
 * The pool's Prometheus metrics. The supervisor owns every counter (fed by the job counts in the
 * children's samples, and by their rare events), so a child's death never resets one. Gauges are read from the supervisor when scraped.
 * Names follow Prometheus' conventions: `worker_pool_` prefix, base units, `_total` on counters only.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { JOB_SECONDS_BUCKETS } from '../ipc/job-stats.js';
import type { ControlLoop } from '../scaling/control-loop.js';
import type { HandBack } from '../supervisor/hand-back.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { ExitReason } from '../supervisor/worker-process.js';
import { BucketHistogram } from './bucket-histogram.js';
import { QueueLabels } from './queue-label.js';

const STATES = ['starting', 'running', 'draining', 'fatal'] as const;

/**
 * Every exit reason, so each counter series exists (at 0) from the first scrape: `increase()` needs
 * a sample before the first exit to count it. (A Record, so a new ExitReason must be listed here.)
 */
const EXIT_REASONS: Record<ExitReason, true> = { crash: true, failed_start: true, scale_down: true, max_jobs: true, max_memory: true, job_timeout: true, shutdown: true, reload: true, fenced: true, stuck: true, stopped: true };

export interface PoolMetrics {
  registry: Registry;
}

/** `queueLimit`: queues with their own `queue` series (the first listed); the rest are `_other`. */
export function createMetrics(pool: string, supervisor: Supervisor, loop: ControlLoop, handBack?: HandBack, queueLimit = Infinity): PoolMetrics {
  const queueLabel = new QueueLabels(() => supervisor.settings.queues, queueLimit);
  const registry = new Registry();
  registry.setDefaultLabels({ pool });
  // prom-client samples event-loop delay every 10 ms by default: 100 wake-ups a second, most of an
  // idle supervisor's CPU (1.1-1.3% of a core with 4 idle children; 0.7-0.8% at 100 ms).
  collectDefaultMetrics({ register: registry, prefix: 'worker_pool_', eventLoopMonitoringPrecision: 100 });

  new Gauge({
    name: 'worker_pool_workers',
    help: 'Worker processes by state (fatal: slots that stopped restarting a failing child).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const counts: Record<string, number> = Object.fromEntries(STATES.map((s) => [s, 0]));
      for (const w of supervisor.workers()) if (w.state in counts) counts[w.state]!++;
      counts['fatal'] = supervisor.fatalCount();
      for (const s of STATES) this.set({ state: s }, counts[s]!);
    },
  });
  const simple = (name: string, help: string, read: () => number | null) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        const v = read();
        if (v === null) this.reset();
        else this.set(v);
      },
    });
  simple('worker_pool_min_workers', 'Configured fewest workers.', () => loop.limits.minWorkers);
  simple('worker_pool_max_workers', 'Configured most workers.', () => loop.limits.maxWorkers);
  simple('worker_pool_desired_workers', 'Workers the pool currently wants.', () => supervisor.desired);
  simple('worker_pool_utilization_threshold_ratio', 'Utilization above which a worker is added (below half of it one is removed).', () => loop.limits.threshold);
  simple('worker_pool_utilization_ratio', 'Busy slot-time over available slot-time in the window.', () => supervisor.utilization());
  simple('worker_pool_worker_slots', 'Job slots of workers that take jobs (sum of concurrency).', () =>
    supervisor.workers().filter((w) => w.state === 'running').reduce((n, w) => n + w.concurrency, 0),
  );
  simple('worker_pool_busy_slots', 'Jobs running now.', () => supervisor.workers().reduce((n, w) => n + w.busySlots, 0));

  const scaleEvents = new Counter({ name: 'worker_pool_scale_events_total', help: 'Scaling decisions that changed the pool size.', labelNames: ['direction'], registers: [registry] });
  scaleEvents.inc({ direction: 'up' }, 0);
  scaleEvents.inc({ direction: 'down' }, 0);
  // When the last change in each direction happened (epoch seconds, 0: none yet): Grafana's
  // annotations take it as the event's time, so every change is marked at its moment, whatever
  // the dashboard's range and resolution.
  const lastScale = new Gauge({ name: 'worker_pool_last_scale_event_timestamp_seconds', help: 'When the pool last changed size, by direction (Unix time; 0: not yet).', labelNames: ['direction'], registers: [registry] });
  lastScale.set({ direction: 'up' }, 0);
  lastScale.set({ direction: 'down' }, 0);
  loop.onDecision((d) => {
    if (d.action === 'hold') return;
    scaleEvents.inc({ direction: d.action });
    lastScale.set({ direction: d.action }, d.at / 1000);
  });

  const exits = new Counter({ name: 'worker_pool_worker_exits_total', help: 'Worker exits by reason.', labelNames: ['reason'], registers: [registry] });
  for (const reason of Object.keys(EXIT_REASONS)) exits.inc({ reason }, 0);
  const startSeconds = new Histogram({
    name: 'worker_pool_worker_start_seconds',
    help: 'Time from fork to a worker being ready for jobs.',
    buckets: [0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10],
    registers: [registry],
  });
  supervisor.on('worker-exit', (e) => exits.inc({ reason: e.reason }));
  supervisor.on('worker-ready', (w) => {
    if (w.readyAt !== undefined) startSeconds.observe((w.readyAt - w.forkedAt) / 1000);
  });

  const jobsStarted = new Counter({ name: 'worker_pool_jobs_started_total', help: 'Jobs started by this pool.', labelNames: ['queue'], registers: [registry] });
  const jobsCompleted = new Counter({ name: 'worker_pool_jobs_completed_total', help: 'Jobs completed by this pool.', labelNames: ['queue'], registers: [registry] });
  const jobsFailed = new Counter({ name: 'worker_pool_jobs_failed_total', help: 'Job attempts that failed in this pool.', labelNames: ['queue'], registers: [registry] });
  const jobsMoved = new Counter({
    name: 'worker_pool_jobs_moved_total',
    help: 'Job runs that ended neither completed nor failed: the job moved itself (DelayedError, WaitingError, WaitingChildrenError) or went back to waiting (RateLimitError).',
    labelNames: ['queue'],
    registers: [registry],
  });
  const jobsLost = new Counter({
    name: 'worker_pool_jobs_lost_to_peer_total',
    help: 'Job runs whose completion (or failure) was refused because the job was no longer theirs: a peer (another host, or this pool after a fence) handed it back while it ran. Not failures: the job runs again, and its next run records the outcome.',
    labelNames: ['queue'],
    registers: [registry],
  });
  for (const q of queueLabel.initial()) {
    jobsLost.inc({ queue: q }, 0);
    jobsStarted.inc({ queue: q }, 0);
    jobsCompleted.inc({ queue: q }, 0);
    jobsFailed.inc({ queue: q }, 0);
    jobsMoved.inc({ queue: q }, 0);
  }
  // Fed from the job counts and buckets in the children's samples: no work per job here.
  const duration = new BucketHistogram('worker_pool_job_duration_seconds', 'Time a job ran, by queue and outcome.', ['queue', 'status'], JOB_SECONDS_BUCKETS, registry);
  const wait = new BucketHistogram('worker_pool_job_wait_seconds', 'Time from enqueue (or the end of a delay) to a job starting.', ['queue'], JOB_SECONDS_BUCKETS, registry);
  supervisor.on('worker-message', (_w, msg) => {
    if (msg.type !== 'sample' || !msg.jobs) return;
    for (const q of msg.jobs) {
      const queue = queueLabel.of(q.queue);
      if (q.started > 0) {
        jobsStarted.inc({ queue }, q.started);
        wait.add({ queue }, q.wait);
      }
      if (q.completed > 0) {
        jobsCompleted.inc({ queue }, q.completed);
        duration.add({ queue, status: 'completed' }, q.ranCompleted);
      }
      if (q.failed > 0) {
        jobsFailed.inc({ queue }, q.failed);
        duration.add({ queue, status: 'failed' }, q.ranFailed);
      }
      if (q.moved) jobsMoved.inc({ queue }, q.moved);
      if (q.lost) jobsLost.inc({ queue }, q.lost);
    }
  });

  const recovered = new Counter({
    name: 'worker_pool_jobs_recovered_total',
    help: "Jobs of dead or stopped workers put back in their queue: handback (by the pool, at once), host (a dead host's, by a fleet peer) or stalled (by BullMQ's stalled check).",
    labelNames: ['queue', 'how'],
    registers: [registry],
  });
  const recovery = new Histogram({
    name: 'worker_pool_job_recovery_seconds',
    help: "Time from a worker's death to its jobs being back in waiting.",
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const hostRecovery = new Histogram({
    name: 'worker_pool_host_recovery_seconds',
    help: "Time from a dead fleet host's lease running out to its jobs being back in waiting (handed back by this daemon).",
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  for (const q of queueLabel.initial()) for (const how of ['handback', 'host', 'stalled']) recovered.inc({ queue: q, how }, 0);
  supervisor.on('worker-message', (_w, msg) => {
    if (msg.type === 'job-returned') recovered.inc({ queue: queueLabel.of(msg.queue), how: 'handback' });
    else if (msg.type === 'job-stalled') recovered.inc({ queue: queueLabel.of(msg.queue), how: 'stalled' });
  });
  handBack?.on('outcome', (o) => {
    if (o.kind !== 'returned') return;
    recovered.inc({ queue: queueLabel.of(o.job.queue), how: o.how ?? 'handback' });
    (o.how === 'host' ? hostRecovery : recovery).observe(o.ms / 1000);
  });

  new Gauge({
    name: 'worker_pool_worker_resident_memory_bytes',
    help: 'Resident memory of each worker, by slot name.',
    labelNames: ['worker'],
    registers: [registry],
    collect() {
      this.reset();
      for (const w of supervisor.workers()) if (w.rssBytes > 0) this.set({ worker: w.id }, w.rssBytes);
    },
  });

  return { registry };
}
