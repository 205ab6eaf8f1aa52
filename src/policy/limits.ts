/** The rule every policy applies first: a pool outside [min-workers, max-workers] goes straight back inside. */
import type { ScaleDecision, ScalePolicy, ScaleSnapshot } from './types.js';

/** The decision that brings the pool back within its limits; undefined when it is within them. */
export function backWithinLimits(s: Pick<ScaleSnapshot, 'workers' | 'minWorkers' | 'maxWorkers'>): ScaleDecision | undefined {
  const { workers, minWorkers, maxWorkers } = s;
  if (workers < minWorkers) return { action: 'up', target: minWorkers, reason: `below min-workers (${workers} < ${minWorkers})` };
  if (workers > maxWorkers) return { action: 'down', target: maxWorkers, reason: `above max-workers (${workers} > ${maxWorkers})` };
  return undefined;
}

/**
 * A policy from its rule for a pool within its limits: a pool outside them is brought back first;
 * `now` is the snapshot's time, or the count of decisions where a snapshot has none (unit tests).
 */
export function withinLimits(rule: (s: ScaleSnapshot, now: number) => ScaleDecision): ScalePolicy {
  let calls = 0;
  return (s) => {
    const now = s.now ?? (calls += 1);
    return backWithinLimits(s) ?? rule(s, now);
  };
}
