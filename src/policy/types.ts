/** What a scaling policy sees and what it answers. Plain data: no clock, no process, no Redis. */

export type ScaleAction = 'up' | 'down' | 'hold';

export interface ScaleSnapshot {
  /** Workers the pool currently wants (starting and running, not draining). */
  workers: number;
  minWorkers: number;
  maxWorkers: number;
  /** Busy ÷ available slot-time over the window; null when nothing has been measured yet. */
  utilization: number | null;
  threshold: number;
}

export interface ScaleDecision {
  action: ScaleAction;
  /** Workers wanted after this decision. */
  target: number;
  reason: string;
}

export type ScalePolicy = (snapshot: ScaleSnapshot) => ScaleDecision;
