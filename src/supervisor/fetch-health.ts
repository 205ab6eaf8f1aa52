/**
 * Whether the children can fetch jobs, from what their samples carry: each child counts its failed
 * fetches (READONLY from a replica, NOPERM from an ACL user without a needed command, Redis
 * down) and the jobs it started. A child is failing while its fetch errors grew within the last
 * few seconds and it started no job since. Counted over the children's lives for a metric.
 */
import type { Clock } from '../clock.js';
import type { SampleMessage } from '../ipc/messages.js';
import type { Supervisor } from './supervisor.js';
import type { WorkerProcess } from './worker-process.js';

/** A child whose last fetch error is older than this (or two samples) is no longer failing. */
const FAILING_FOR_MS = 5000;

interface ChildFetches {
  errors: number;
  started: number;
  lastErrorAt: number;
  lastStartAt: number;
}

export class FetchHealth {
  /** Failed fetches over every child's life (never decreases: a child's exit keeps its count here). */
  total = 0;
  private readonly children = new Map<WorkerProcess, ChildFetches>();

  constructor(
    supervisor: Supervisor,
    private readonly clock: Clock,
    /** The children's sample interval: errors are seen once a sample. */
    private readonly sampleIntervalMs = 1000,
  ) {
    supervisor.on('worker-message', (w, m) => m.type === 'sample' && this.onSample(w, m));
    supervisor.on('worker-exit', (e) => this.children.delete(e.worker));
  }

  onSample(w: WorkerProcess, m: SampleMessage): void {
    const now = this.clock.now();
    const errors = m.fetchErrors ?? 0;
    const started = m.started ?? 0;
    const c = this.children.get(w) ?? { errors: 0, started: 0, lastErrorAt: -Infinity, lastStartAt: -Infinity };
    if (errors > c.errors) {
      this.total += errors - c.errors;
      c.lastErrorAt = now;
    }
    if (started > c.started) c.lastStartAt = now;
    c.errors = errors;
    c.started = started;
    this.children.set(w, c);
  }

  failing(w: WorkerProcess): boolean {
    const c = this.children.get(w);
    if (!c) return false;
    return c.lastErrorAt > c.lastStartAt && this.clock.now() - c.lastErrorAt < Math.max(FAILING_FOR_MS, 2 * this.sampleIntervalMs + 1000);
  }

  /** How many of these workers fail to fetch now. */
  failingCount(workers: readonly WorkerProcess[]): number {
    return workers.filter((w) => this.failing(w)).length;
  }
}
