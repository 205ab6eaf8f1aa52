/**
 * The default scaling rule (RQ Orchestrator's): above the threshold add one worker, below half of it
 * remove one, otherwise hold — always within [min, max]. Utilization is measured only over time when
 * the pool had its current size, and a decision waits until that is at least one scaling period:
 * otherwise the busy time of a smaller pool would keep adding workers past what the load needs.
 * One exception: a decision taken early because every slot has been busy for a sample interval
 * (`saturated`) adds a worker when jobs wait: within a period of the last resize only if that time
 * was busy above the threshold; after a longer quiet spell, whatever the window's average (which a
 * long idle keeps low): the pool at its current size is short now, whatever a full period would show.
 * With min-workers 0 a pool that went to zero wakes one worker when the snapshot shows a job waiting.
 * Pure: it sees a snapshot, returns a decision.
 */
import { apart } from './figures.js';
import { backWithinLimits } from './limits.js';
import type { ScaleDecision, ScaleSnapshot } from './types.js';

export function decideScale(s: ScaleSnapshot): ScaleDecision {
  const { workers, minWorkers, maxWorkers, utilization, threshold, measuredMs, periodMs } = s;
  const outside = backWithinLimits(s);
  if (outside) return outside;
  if (workers === 0) {
    // Scaled to zero: nothing to measure; wake one worker as soon as a job waits.
    if ((s.backlog ?? 0) > 0 && maxWorkers > 0) return { action: 'up', target: 1, reason: `${s.backlog} jobs waiting and no worker` };
    return { action: 'hold', target: 0, reason: 'no worker and no job waiting' };
  }
  if (utilization === null) {
    return { action: 'hold', target: workers, reason: 'no usage sample yet' };
  }
  if (measuredMs < periodMs) {
    if (s.saturated && (s.backlog ?? 0) > 0 && utilization > threshold && workers < maxWorkers) {
      const [u, t] = apart(utilization, threshold);
      return { action: 'up', target: workers + 1, reason: `every slot busy and ${s.backlog} jobs waiting: utilization ${u} > threshold ${t} over the ${(measuredMs / 1000).toFixed(1)} s since the pool changed size` };
    }
    return { action: 'hold', target: workers, reason: `pool changed size ${(measuredMs / 1000).toFixed(1)} s ago; measuring a full period first` };
  }
  if (s.saturated && (s.backlog ?? 0) > 0 && workers < maxWorkers) {
    return { action: 'up', target: workers + 1, reason: `every slot busy and ${s.backlog} jobs waiting (utilization ${utilization.toFixed(2)} over the window)` };
  }
  if (utilization > threshold) {
    const [u, t] = apart(utilization, threshold);
    if (workers >= maxWorkers) {
      return { action: 'hold', target: workers, reason: `utilization ${u} > threshold ${t} but at max-workers` };
    }
    return { action: 'up', target: workers + 1, reason: `utilization ${u} > threshold ${t}` };
  }
  const low = threshold / 2;
  if (utilization < low) {
    const [u, l] = apart(utilization, low);
    if (workers <= minWorkers) {
      return { action: 'hold', target: workers, reason: `utilization ${u} < ${l} but at min-workers` };
    }
    return { action: 'down', target: workers - 1, reason: `utilization ${u} < half threshold ${l}` };
  }
  // Within the band: as many digits as it takes to tell utilization from the nearer bound.
  const [u, t] = apart(utilization, threshold);
  const [u2, l] = apart(utilization, low);
  return { action: 'hold', target: workers, reason: `utilization ${u.length >= u2.length ? u : u2} within [${l}, ${t}]` };
}

decideScale.decidesEarly = true;
