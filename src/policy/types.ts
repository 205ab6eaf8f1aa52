/** What a scaling policy sees and what it answers. Plain data: no clock, no process, no Redis. */

export type ScaleAction = 'up' | 'down' | 'hold';

export interface ScaleSnapshot {
  /** Workers the pool currently wants (starting and running, not draining). */
  workers: number;
  minWorkers: number;
  maxWorkers: number;
  /** Busy ÷ available slot-time since the pool had its current size (at most the window); null before any sample. */
  utilization: number | null;
  threshold: number;
  /** How long the utilization was measured over: the window, or less since the pool last changed size. */
  measuredMs: number;
  /** The scaling period: a decision needs at least this much measurement at the current size. */
  periodMs: number;
}

export interface ScaleDecision {
  action: ScaleAction;
  /** Workers wanted after this decision. */
  target: number;
  reason: string;
}

export type ScalePolicy = (snapshot: ScaleSnapshot) => ScaleDecision;
