/**
 * Asks for an early scaling decision when every slot of the pool has been busy for a sample interval:
 * on each worker sample, if every slot of the pool holds a running worker (none starting, none
 * missing) and all their job slots were busy at their latest samples, and were so already at a sample
 * at least `minGapMs` (the sample interval) before, the pool may be short now, and waiting for the
 * end of a long scaling period would leave jobs queued for nothing. At most one request per
 * `minGapMs`, and none while one is under way; the control loop reads the backlog and the policy judges.
 */
import type { Clock } from '../clock.js';
import type { Supervisor } from '../supervisor/supervisor.js';

export interface SaturationWatchOptions {
  supervisor: Pick<Supervisor, 'desired' | 'slotList'>;
  /** Whether a decision may add a worker at all (the loop runs, the pool is below max-workers). */
  canGrow(): boolean;
  /** Decide now (ControlLoop.decideSaturated); resolves once decided. */
  decide(): Promise<unknown>;
  clock: Pick<Clock, 'now'>;
  /** Least time between two requests (ms). */
  minGapMs: number;
}

export class SaturationWatch {
  private lastAt = -Infinity;
  private pending = false;
  /** When the pool was first seen saturated in the run of samples that still says so. */
  private since: number | undefined;

  constructor(private readonly opts: SaturationWatchOptions) {}

  /** Every slot filled by a running worker whose job slots are all busy. */
  saturated(): boolean {
    const slots = this.opts.supervisor.slotList();
    if (slots.length === 0 || slots.length !== this.opts.supervisor.desired) return false;
    for (const slot of slots) {
      const w = slot.worker;
      if (!w || w.state !== 'running' || w.busySlots < w.concurrency) return false;
    }
    return true;
  }

  /** A sample arrived: ask for a decision if the pool is saturated and none was asked for lately. */
  onSample(): void {
    const now = this.opts.clock.now();
    if (!this.saturated()) {
      this.since = undefined;
      return;
    }
    this.since ??= now;
    if (this.pending || now - this.since < this.opts.minGapMs) return;
    if (now - this.lastAt < this.opts.minGapMs || !this.opts.canGrow()) return;
    this.lastAt = now;
    this.pending = true;
    void this.opts.decide().catch(() => undefined).finally(() => (this.pending = false));
  }
}
