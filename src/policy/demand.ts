/**
 * DemandTracker: how fast jobs arrive and how long they take, over the last `windowMs`, from the
 * cumulative counts the pool already has at each decision: jobs waiting (Redis), jobs running, jobs
 * finished and their busy time. Arrivals are not counted directly (a producer may be anywhere);
 * they follow from conservation: arrived = finished + Δ(waiting + running). Pure: no clock, no I/O.
 */

export interface DemandObservation {
  /** Monotonic ms. */
  at: number;
  /** Jobs waiting in the pool's queues; null when Redis could not be read. */
  backlog: number | null;
  /** Jobs running in the pool's workers. */
  running: number;
  /** Cumulative jobs finished (completed or failed) since the pool started. */
  finished: number;
  /** Cumulative run time of those finished jobs (ms). */
  finishedBusyMs: number;
}

export interface DemandRates {
  /** Jobs arriving per second; null until two observations with a readable backlog exist. */
  arrivalRate: number | null;
  completionRate: number | null;
  /** Jobs arriving per second between the two newest observations (one scaling period): reacts faster. */
  recentArrivalRate: number | null;
  /** Mean run time of jobs finished in the window, else the last one known; null before any. */
  meanJobMs: number | null;
}

export class DemandTracker {
  private readonly obs: DemandObservation[] = [];
  private lastMeanJobMs: number | null = null;

  constructor(private readonly windowMs: number) {
    if (!(windowMs > 0)) throw new RangeError(`window must be > 0 ms, got ${windowMs}`);
  }

  observe(o: DemandObservation): void {
    const last = this.obs[this.obs.length - 1];
    if (last && o.at < last.at) return;
    this.obs.push({ ...o });
    // Keep one observation at or before the window start as the anchor.
    const start = o.at - this.windowMs;
    let keepFrom = 0;
    for (let i = 0; i < this.obs.length; i++) {
      if (this.obs[i]!.at <= start) keepFrom = i;
      else break;
    }
    if (keepFrom > 0) this.obs.splice(0, keepFrom);
  }

  /** Rates between the window's anchor observation and the newest one. */
  rates(): DemandRates {
    const newest = this.obs[this.obs.length - 1];
    const anchor = this.obs[0];
    if (!newest || !anchor || newest.at <= anchor.at) return { arrivalRate: null, completionRate: null, recentArrivalRate: null, meanJobMs: this.lastMeanJobMs };
    const spanS = (newest.at - anchor.at) / 1000;
    const finished = newest.finished - anchor.finished;
    if (finished > 0) this.lastMeanJobMs = (newest.finishedBusyMs - anchor.finishedBusyMs) / finished;
    let arrivalRate: number | null = null;
    if (newest.backlog !== null && anchor.backlog !== null) {
      const arrived = finished + newest.backlog + newest.running - (anchor.backlog + anchor.running);
      arrivalRate = Math.max(0, arrived) / spanS;
    }
    return { arrivalRate, completionRate: finished / spanS, recentArrivalRate: arrivalsPerSecond(this.obs[this.obs.length - 2]!, newest), meanJobMs: this.lastMeanJobMs };
  }
}

function arrivalsPerSecond(a: DemandObservation, b: DemandObservation): number | null {
  if (a.backlog === null || b.backlog === null || b.at <= a.at) return null;
  const arrived = b.finished - a.finished + b.backlog + b.running - (a.backlog + a.running);
  return Math.max(0, arrived) / ((b.at - a.at) / 1000);
}
