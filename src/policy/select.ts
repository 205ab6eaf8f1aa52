/** The scaling rule a pool's settings ask for (`--policy threshold|adaptive` and its options). */
import { createAdaptivePolicy } from './adaptive.js';
import { decideScale } from './threshold.js';
import type { ScalePolicy } from './types.js';

export interface PolicySettings {
  policy: 'threshold' | 'adaptive';
  maxStep: number;
  /** Seconds, like the options. */
  stabilizationWindow: number;
  scalingPeriod: number;
  memoryBudgetMb: number | undefined;
}

export function selectPolicy(c: PolicySettings): ScalePolicy {
  if (c.policy !== 'adaptive') return decideScale;
  return createAdaptivePolicy({
    maxStep: c.maxStep,
    stabilizationMs: c.stabilizationWindow * 1000,
    // A backlog should be gone within one scaling period; a job older than that asks for a worker.
    drainTargetMs: c.scalingPeriod * 1000,
    memoryBudgetMb: c.memoryBudgetMb,
  });
}
