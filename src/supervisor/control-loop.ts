/**
 * The control loop: every scaling period, read the pool's utilization over the window, ask the
 * policy, and set the supervisor's desired size. `tick()` is one period and can be called directly.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../observe/logger.js';
import type { ScaleAction, ScalePolicy, ScaleSnapshot } from '../policy/types.js';
import type { Supervisor } from './supervisor.js';

export interface ScaleLimits {
  minWorkers: number;
  maxWorkers: number;
  threshold: number;
  scalingPeriodMs: number;
}

export interface DecisionRecord {
  /** Epoch ms. */
  at: number;
  action: ScaleAction;
  utilization: number | null;
  workersBefore: number;
  workersAfter: number;
  reason: string;
  /** Set when the CPU-saturation guard held or reversed a step (the reason gives the figures). */
  guard?: 'held' | 'reversed';
}

const KEEP_DECISIONS = 100;

/** What the loop can add to a snapshot besides utilization: backlog, rates, memory (see ScaleSnapshot). */
export interface DemandSource {
  /** Read what needs I/O (queue counts) before each tick; errors are the source's business. */
  refresh(): Promise<void>;
  signals(): Partial<ScaleSnapshot>;
}

export class ControlLoop {
  readonly decisions: DecisionRecord[] = [];
  lastTickAt: number | undefined;
  private timer: NodeJS.Timeout | undefined;
  private deciding = false;
  private listeners: Array<(d: DecisionRecord) => void> = [];

  constructor(
    private readonly supervisor: Supervisor,
    private readonly policy: ScalePolicy,
    public limits: ScaleLimits,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly demand?: DemandSource,
  ) {}

  onDecision(fn: (d: DecisionRecord) => void): void {
    this.listeners.push(fn);
  }

  /** Start at min-workers, then decide every period. */
  start(): void {
    this.supervisor.setDesired(this.limits.minWorkers);
    this.lastTickAt = this.clock.now();
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** New limits at once (a reload); a new period restarts the wait for the next tick. */
  setLimits(limits: ScaleLimits): void {
    const periodChanged = limits.scalingPeriodMs !== this.limits.scalingPeriodMs;
    this.limits = limits;
    if (periodChanged && this.timer) {
      this.stop();
      this.schedule();
    }
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  /**
   * Decide now instead of at the end of the period (a job arrived at a pool at zero workers, or
   * every slot is busy): one tick, the same as a periodic one, and the next period starts from it.
   * Does nothing while stopped or while a tick is under way. Resolves with the decision made, if any.
   */
  async decideNow(): Promise<DecisionRecord | undefined> {
    if (this.timer === undefined || this.deciding) return undefined;
    this.deciding = true;
    clearTimeout(this.timer);
    try {
      if (this.demand) await this.demand.refresh();
      if (this.timer === undefined) return undefined; // stopped meanwhile
      return this.tick();
    } finally {
      this.deciding = false;
      if (this.timer !== undefined) this.schedule();
    }
  }

  private schedule(): void {
    const timer = setTimeout(() => {
      if (this.deciding) return; // decideNow() took this period over and schedules the next
      this.deciding = true;
      const refreshed = this.demand ? this.demand.refresh() : Promise.resolve();
      void refreshed.then(() => {
        this.deciding = false;
        if (this.timer !== timer) return; // stopped (or rescheduled) meanwhile
        this.tick();
        this.schedule();
      });
    }, this.limits.scalingPeriodMs);
    this.timer = timer;
  }

  tick(): DecisionRecord {
    this.lastTickAt = this.clock.now();
    const before = this.supervisor.desired;
    const { utilization, measuredMs } = this.supervisor.utilizationAtCurrentSize();
    const decision = this.policy({
      ...this.demand?.signals(),
      workers: before,
      minWorkers: this.limits.minWorkers,
      maxWorkers: this.limits.maxWorkers,
      utilization,
      threshold: this.limits.threshold,
      measuredMs,
      periodMs: this.limits.scalingPeriodMs,
      now: this.lastTickAt,
    });
    if (decision.target !== before) this.supervisor.setDesired(decision.target);
    else this.supervisor.reconcile();
    const record: DecisionRecord = {
      at: this.clock.wallNow(),
      action: decision.action,
      utilization,
      workersBefore: before,
      workersAfter: decision.target,
      reason: decision.reason,
      ...(decision.guard ? { guard: decision.guard } : {}),
    };
    this.decisions.push(record);
    if (this.decisions.length > KEEP_DECISIONS) this.decisions.shift();
    const fields = { action: record.action, utilization: utilization === null ? null : Number(utilization.toFixed(3)), workersBefore: before, workersAfter: decision.target, reason: decision.reason, ...(decision.guard ? { guard: decision.guard } : {}) };
    // A hold is most periods' outcome: at debug, so that info shows the changes.
    if (record.action === 'hold') this.log.debug(fields, 'scale decision');
    else this.log.info(fields, 'scale decision');
    for (const fn of this.listeners) fn(record);
    return record;
  }
}
