/**
 * The last 15 minutes of the pool in memory, for the live page (GET /history): workers, desired
 * size, utilization and queue depth, one point every few seconds. Bounded: 15 min / interval points.
 */
import type { Clock } from '../clock.js';
import type { ControlLoop } from '../supervisor/control-loop.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { QueueProbe } from './queue-probe.js';

export interface HistoryPoint {
  /** Epoch ms. */
  at: number;
  running: number;
  starting: number;
  draining: number;
  desired: number;
  utilization: number | null;
  busySlots: number;
  slots: number;
  /** Summed over the pool's queues; null when Redis did not answer. */
  waiting: number | null;
  active: number | null;
  delayed: number | null;
  oldestAgeSeconds: number | null;
}

export interface HistoryBody {
  pool: string;
  intervalSeconds: number;
  minWorkers: number;
  maxWorkers: number;
  threshold: number;
  points: HistoryPoint[];
}

export const HISTORY_SPAN_MS = 15 * 60 * 1000;

export class History {
  private readonly points: HistoryPoint[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(
    private readonly pool: string,
    private readonly supervisor: Supervisor,
    private readonly loop: ControlLoop,
    private readonly probe: QueueProbe,
    private readonly clock: Clock,
    readonly intervalMs = 2000,
  ) {}

  start(): void {
    void this.sample();
    this.timer = setInterval(() => void this.sample(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async sample(): Promise<void> {
    if (this.sampling) return; // Redis slower than the interval: skip rather than pile up
    this.sampling = true;
    try {
      const workers = this.supervisor.workers();
      const count = (state: string) => workers.filter((w) => w.state === state).length;
      const point: HistoryPoint = {
        at: this.clock.wallNow(),
        running: count('running'),
        starting: count('starting'),
        draining: count('draining'),
        desired: this.supervisor.desired,
        utilization: this.supervisor.utilization(),
        busySlots: workers.reduce((n, w) => n + w.busySlots, 0),
        slots: workers.filter((w) => w.state === 'running').reduce((n, w) => n + w.concurrency, 0),
        waiting: null,
        active: null,
        delayed: null,
        oldestAgeSeconds: null,
      };
      const snap = await this.probe.snapshot().catch(() => null);
      if (snap) {
        const all = Object.values(snap);
        point.waiting = all.reduce((n, s) => n + s.counts.waiting + s.counts.prioritized + s.counts.paused, 0);
        point.active = all.reduce((n, s) => n + s.counts.active, 0);
        point.delayed = all.reduce((n, s) => n + s.counts.delayed, 0);
        point.oldestAgeSeconds = all.reduce((n, s) => Math.max(n, s.oldestAgeSeconds), 0);
      }
      this.points.push(point);
      const cutoff = point.at - HISTORY_SPAN_MS;
      while (this.points.length && this.points[0]!.at < cutoff) this.points.shift();
    } finally {
      this.sampling = false;
    }
  }

  body(): HistoryBody {
    return {
      pool: this.pool,
      intervalSeconds: this.intervalMs / 1000,
      minWorkers: this.loop.limits.minWorkers,
      maxWorkers: this.loop.limits.maxWorkers,
      threshold: this.loop.limits.threshold,
      points: [...this.points],
    };
  }
}
