/**
 * How many workers the demand calls for, as the pool's policy sees it, before max-workers (and the
 * CPU and memory guards, which more pods would relieve) bound it: the number each instance publishes
 * in its fleet registration for the pod-level signal (GET /scaler). The threshold and adaptive
 * policies see it as busy slots at the target utilization plus the slots that clear the backlog
 * within a scaling period (adaptive.ts, recommend); the latency policy as the slots that keep waits
 * under its target (latency.ts). At least min-workers. Pure.
 */
import { recommend } from './adaptive.js';
import { latencyRecommend } from './latency.js';
import type { ScaleSnapshot } from './types.js';

export interface WantedSettings {
  policy: 'threshold' | 'adaptive' | 'latency';
  /** A backlog should be gone within this long (ms): the scaling period. */
  drainTargetMs: number;
  /** latency: the wait to stay under (ms). */
  targetWaitMs: number;
}

/** No pool is sized past this: the models' searches stay bounded. */
const OPEN_MAX = 10_000;

export function workersWanted(s: ScaleSnapshot, w: WantedSettings): number {
  const open: ScaleSnapshot = { ...s, minWorkers: 0, maxWorkers: OPEN_MAX };
  const want = w.policy === 'latency' ? latencyRecommend(open, w.targetWaitMs).want : recommend(open, { drainTargetMs: w.drainTargetMs }).want;
  return Math.max(s.minWorkers, want);
}
