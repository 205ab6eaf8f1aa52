/**
 * The control loop: every scaling period, read the pool's utilization over the window, ask the
 * policy, and set the supervisor's desired size. `tick()` is one period and can be called directly.
 * Two seams decide before the period ends: decideNow() (a job arrived at a pool at zero) and
 * decideSaturated() (every slot is busy; see SaturationWatch).
 */
import { systemTimers, type Clock, type Timers } from '../clock.js';
import type { Logger } from '../logger.js';
import type { ScaleAction, ScaleDecision, ScalePolicy, ScaleSnapshot } from '../policy/types.js';
import type { Supervisor } from '../supervisor/supervisor.js';

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
  /** Workers the demand called for, before max-workers and the guards (the pod-level signal's input). */
  wanted?: number;
}

const KEEP_DECISIONS = 100;

/** What the loop can add to a snapshot besides utilization: backlog, rates, memory (see ScaleSnapshot). */
export interface DemandSource {
  /** Read what needs I/O (queue counts) before each tick; errors are the source's business. */
  refresh(): Promise<void>;
  /** Read only the queues' backlog (an early decision; the period's other figures stay as they are). */
  refreshBacklog?(): Promise<void>;
  signals(): Partial<ScaleSnapshot>;
}

export class ControlLoop {
  readonly decisions: DecisionRecord[] = [];
  lastTickAt: number | undefined;
  private timer: unknown;
  /** When the scheduled periodic tick is due (monotonic ms). */
  private nextTickAt = 0;
  private deciding = false;
  private listeners: Array<(d: DecisionRecord) => void> = [];
  /** Each decision's `wanted` with its time (monotonic ms), for peakWanted(). */
  private readonly wantedSeen: Array<{ at: number; wanted: number }> = [];

  constructor(
    private readonly supervisor: Supervisor,
    private readonly policy: ScalePolicy,
    public limits: ScaleLimits,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly demand?: DemandSource,
    /** Workers the demand calls for, unbounded by max-workers (see policy/workers-wanted.ts). */
    private readonly wanted?: (s: ScaleSnapshot) => number,
    /** The periods' timers (the simulator's run on virtual time). */
    private readonly timers: Timers = systemTimers,
  ) {}

  /** The highest `wanted` of the decisions in the last `windowMs`; undefined when none said. */
  peakWanted(windowMs: number): number | undefined {
    const since = this.clock.now() - windowMs;
    while (this.wantedSeen.length > 0 && this.wantedSeen[0]!.at < since) this.wantedSeen.shift();
    return this.wantedSeen.length > 0 ? Math.max(...this.wantedSeen.map((w) => w.wanted)) : undefined;
  }

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
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
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

  /** Whether the policy takes early decisions (see ScalePolicy.decidesEarly). */
  get decidesEarly(): boolean {
    return this.policy.decidesEarly === true;
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
    return this.decideEarly(async () => this.demand?.refresh(), false);
  }

  /**
   * Every slot is busy: decide now whether that calls for a worker more, with `saturated` in the
   * snapshot (the threshold rule may then add one before a full period at this size). Only the
   * backlog is read first; the period's other figures (CPU, rates) stay the period's. A step up
   * counts as any decision: recorded, and the next period starts from it. Anything else is not a
   * decision: nothing is recorded and the period goes on as scheduled. Does nothing while stopped,
   * while a tick is under way, or when the policy takes no early decisions.
   */
  async decideSaturated(): Promise<DecisionRecord | undefined> {
    if (!this.decidesEarly) return undefined;
    return this.decideEarly(async () => (this.demand?.refreshBacklog ? this.demand.refreshBacklog() : this.demand?.refresh()), true);
  }

  /** A decision before the period ends: read what `read` reads, decide, and schedule the next period. */
  private async decideEarly(read: () => Promise<void>, saturated: boolean): Promise<DecisionRecord | undefined> {
    if (this.timer === undefined || this.deciding) return undefined;
    this.deciding = true;
    this.timers.clearTimeout(this.timer);
    let record: DecisionRecord | undefined;
    try {
      await read();
      if (this.timer === undefined) return undefined; // stopped meanwhile
      const made = this.decide(saturated);
      // On saturation only a step up is taken early: scale-down waits for the periodic decision.
      if (!saturated || made.decision.target > made.before) record = this.apply(made);
      return record;
    } finally {
      this.deciding = false;
      if (this.timer !== undefined) {
        this.timers.clearTimeout(this.timer); // (a reload may have rescheduled meanwhile)
        // A decision made starts the next period; none leaves the period as it was scheduled.
        this.schedule(record ? this.limits.scalingPeriodMs : Math.max(0, this.nextTickAt - this.clock.now()));
      }
    }
  }

  private schedule(delayMs = this.limits.scalingPeriodMs): void {
    this.nextTickAt = this.clock.now() + delayMs;
    const timer = this.timers.setTimeout(() => {
      if (this.deciding) return; // decideNow() took this period over and schedules the next
      this.deciding = true;
      const refreshed = this.demand ? this.demand.refresh() : Promise.resolve();
      void refreshed.then(() => {
        this.deciding = false;
        if (this.timer !== timer) return; // stopped (or rescheduled) meanwhile
        this.tick();
        this.schedule();
      });
    }, delayMs);
    this.timer = timer;
  }

  tick(): DecisionRecord {
    return this.apply(this.decide(false));
  }

  /** Ask the policy (does not act on the answer). */
  private decide(saturated: boolean): { decision: ScaleDecision; before: number; utilization: number | null; at: number; wanted: number | undefined } {
    const at = this.clock.now();
    const before = this.supervisor.desired;
    const { utilization, measuredMs } = this.supervisor.utilizationAtCurrentSize();
    const snapshot: ScaleSnapshot = {
      ...this.demand?.signals(),
      workers: before,
      minWorkers: this.limits.minWorkers,
      maxWorkers: this.limits.maxWorkers,
      utilization,
      threshold: this.limits.threshold,
      measuredMs,
      periodMs: this.limits.scalingPeriodMs,
      now: at,
      ...(saturated ? { saturated } : {}),
    };
    const decision = this.policy(snapshot);
    return { decision, before, utilization, at, wanted: this.wanted?.(snapshot) };
  }

  /** Set the size a decision asks for, record it, log it and tell the listeners. */
  private apply({ decision, before, utilization, at, wanted }: ReturnType<ControlLoop['decide']>): DecisionRecord {
    this.lastTickAt = at;
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
      ...(wanted !== undefined ? { wanted } : {}),
    };
    this.decisions.push(record);
    if (wanted !== undefined) {
      this.wantedSeen.push({ at, wanted });
      if (this.wantedSeen.length > 10_000) this.wantedSeen.shift();
    }
    if (this.decisions.length > KEEP_DECISIONS) this.decisions.shift();
    const fields = { action: record.action, utilization: utilization === null ? null : Number(utilization.toFixed(3)), workersBefore: before, workersAfter: decision.target, reason: decision.reason, ...(decision.guard ? { guard: decision.guard } : {}) };
    // A hold is most periods' outcome: at debug, so that info shows the changes.
    if (record.action === 'hold') this.log.debug(fields, 'scale decision');
    else this.log.info(fields, 'scale decision');
    for (const fn of this.listeners) fn(record);
    return record;
  }
}
