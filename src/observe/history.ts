/**
 * The last 15 minutes of the pool, for the live page (GET /history): workers, desired size,
 * utilization and queue depth, one point every few seconds (bounded: 15 min / interval points);
 * and the last scaling changes (holds left out), for the page and /status. With a store, both are
 * written to Redis as they happen and read back at start, so a restart does not wipe them.
 */
import type { Clock } from '../clock.js';
import type { ControlLoop, DecisionRecord } from '../scaling/control-loop.js';
import { KEEP_CHANGES, type HistoryPoint, type HistorySink } from './history-store.js';

export type { HistoryPoint } from './history-store.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { QueueCountsReader } from '../redis/queue-counts.js';

export interface HistoryBody {
  pool: string;
  intervalSeconds: number;
  minWorkers: number;
  maxWorkers: number;
  threshold: number;
  points: HistoryPoint[];
  /** The last scaling decisions that changed the size, oldest first (kept across restarts with a store). */
  changes: DecisionRecord[];
}

export const HISTORY_SPAN_MS = 15 * 60 * 1000;

export class History {
  private points: HistoryPoint[] = [];
  private changeList: DecisionRecord[] = [];
  private timer: NodeJS.Timeout | undefined;
  private sampling = false;

  constructor(
    private readonly pool: string,
    private readonly supervisor: Supervisor,
    private readonly loop: ControlLoop,
    private readonly probe: QueueCountsReader,
    private readonly clock: Clock,
    readonly intervalMs = 2000,
    private readonly store?: HistorySink,
  ) {
    loop.onDecision((d) => {
      if (d.action === 'hold') return;
      this.changeList.push(d);
      if (this.changeList.length > KEEP_CHANGES) this.changeList.shift();
      this.store?.appendChange(d);
    });
  }

  /** How many points 15 minutes hold at this interval. */
  static pointsFor(intervalMs: number): number {
    return Math.ceil(HISTORY_SPAN_MS / intervalMs) + 1;
  }

  /**
   * Put what earlier runs stored before what this run has seen (once, at start; Redis may be
   * down, then the page starts empty as before).
   */
  async restore(): Promise<void> {
    if (!this.store) return;
    const kept = await this.store.load();
    const cutoff = this.clock.wallNow() - HISTORY_SPAN_MS;
    const firstPoint = this.points[0]?.at ?? Infinity;
    this.points = [...kept.points.filter((p) => p.at >= cutoff && p.at < firstPoint), ...this.points];
    const firstChange = this.changeList[0]?.at ?? Infinity;
    this.changeList = [...kept.changes.filter((d) => d.at < firstChange), ...this.changeList].slice(-KEEP_CHANGES);
  }

  /** The last `n` scaling changes, oldest first. */
  changes(n = KEEP_CHANGES): DecisionRecord[] {
    return this.changeList.slice(-n);
  }

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
      this.store?.appendPoint(point);
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
      changes: this.changes(),
    };
  }
}
