/**
 * The adaptive policy (`--policy adaptive`): sizes the pool from demand instead of nudging it.
 *
 *   slots needed = max(arrival rate × mean job time (Little's law), busy slots measured) ÷ threshold
 *                + the slots that would clear the backlog within one drain target
 *
 * (with nothing waiting, Little's term counts up to 1.1× the busy slots measured)
 *
 * The threshold is the target utilization. Up: straight to what is needed, by at most `maxStep`
 * workers per decision, never past `maxWorkers` (the memory guard, memory-guard.ts, bounds it too); a job waiting with no worker
 * (scaled to zero) or a job waiting longer than the drain target forces at least one more. Down: one
 * worker at a time, and only when every recommendation in the last `stabilizationMs` — each the
 * demand grown by a dead band (`downBand`, 75%) — was lower (Kubernetes HPA's scale-down
 * stabilization), so Poisson noise does not make it flap. Pure apart from that memory
 * of recent recommendations, which lives in the closure; time comes from the snapshot.
 */
import type { ScaleDecision, ScalePolicy, ScaleSnapshot } from './types.js';
import { fmt } from './figures.js';
import { withinLimits } from './limits.js';

export interface AdaptiveOptions {
  /** Most workers added by one decision (≥ 1). */
  maxStep: number;
  /** A scale-down needs every recommendation in this long to be below the current size (ms). */
  stabilizationMs: number;
  /** How soon a backlog should be cleared (ms); also the oldest-wait age that forces one more worker. */
  drainTargetMs: number;
  /**
   * Scale down only while the demand, grown by this share, would still fit in one worker fewer: a dead
   * band against Poisson noise, as the threshold rule's band from half the threshold to the threshold.
   */
  downBand?: number;
}

export const DEFAULT_DOWN_BAND = 0.75;

/** With no backlog, Little's estimate of the demand counts up to this many times the measured busy slots. */
const LITTLE_CAP = 1.1;

export function createAdaptivePolicy(opts: AdaptiveOptions): ScalePolicy {
  if (!(opts.maxStep >= 1)) throw new RangeError(`maxStep must be ≥ 1, got ${opts.maxStep}`);
  const history: Array<{ at: number; want: number }> = [];
  const band = opts.downBand ?? DEFAULT_DOWN_BAND;

  return withinLimits((s: ScaleSnapshot, now: number): ScaleDecision => {
    const { workers, minWorkers, maxWorkers } = s;

    const { want, why, slots } = recommend(s, opts);
    // What scale-down must stay at or above: the demand grown by the dead band.
    const keep = Math.min(maxWorkers, Math.max(minWorkers, Math.ceil((slots * (1 + band)) / Math.max(1, s.concurrency ?? 1) - 1e-9), want));
    history.push({ at: now, want: keep });
    while (history.length > 0 && history[0]!.at < now - opts.stabilizationMs) history.shift();

    if (want > workers) {
      const target = Math.min(want, workers + opts.maxStep);
      return { action: 'up', target, reason: `${why}; wants ${want}${target < want ? ` (step ≤ ${opts.maxStep})` : ''}` };
    }
    const stable = Math.max(...history.map((h) => h.want));
    if (stable < workers && workers > minWorkers) {
      return { action: 'down', target: workers - 1, reason: `${why}; wanted ≤ ${stable} for ${fmt(opts.stabilizationMs / 1000)} s` };
    }
    return { action: 'hold', target: workers, reason: `${why}; wants ${want}${stable > want ? `, held by ${stable} within ${fmt(opts.stabilizationMs / 1000)} s` : ''}` };
  });
}

/** Workers the demand calls for, within [min, max], with a one-line explanation. */
export function recommend(s: ScaleSnapshot, opts: Pick<AdaptiveOptions, 'drainTargetMs'>): { want: number; why: string; slots: number } {
  const { workers, minWorkers, maxWorkers, utilization, threshold } = s;
  const concurrency = Math.max(1, s.concurrency ?? 1);
  const backlog = s.backlog ?? 0;
  const meanJobMs = s.meanJobMs ?? null;
  const measured = s.busySlots ?? (utilization === null ? 0 : utilization * workers * concurrency);
  // Arrivals over the window; while jobs wait, halfway to the last period's rate when that is higher
  // (a rising load shows faster; without a backlog it is mostly Poisson noise).
  const recent = backlog > 0 ? ((s.arrivalRate ?? 0) + (s.recentArrivalRate ?? 0)) / 2 : 0;
  const rate = Math.max(s.arrivalRate ?? 0, recent);
  const little = meanJobMs !== null ? (rate * meanJobMs) / 1000 : 0;
  // With nothing waiting, the demand cannot be far above the busy time measured: Little's law (arrivals
  // × the mean time of the jobs that finished) counts up to 1.1× that (a rising load). Unbounded, one
  // long job that has just finished inflates the mean and asks for ten workers for a load of short jobs.
  const busy = backlog === 0 && s.busySlots != null ? Math.max(measured, Math.min(little, measured * LITTLE_CAP)) : Math.max(measured, little);
  // Unknown job time: assume each waiting job wants a slot for one drain target.
  const backlogSlots = meanJobMs !== null ? (backlog * meanJobMs) / opts.drainTargetMs : backlog;
  const slots = busy / threshold + backlogSlots;
  let want = Math.ceil(slots / concurrency - 1e-9);
  const parts = [`demand ${fmt(busy)} slots`];
  if (backlog > 0) parts.push(`backlog ${backlog}`);
  if (backlog > 0 && workers === 0) want = Math.max(want, 1);
  if (backlog > 0 && s.oldestWaitMs != null && s.oldestWaitMs > opts.drainTargetMs) {
    want = Math.max(want, workers + 1);
    parts.push(`oldest waiting ${fmt(s.oldestWaitMs / 1000)} s`);
  }
  want = Math.min(maxWorkers, Math.max(minWorkers, want));
  return { want, why: parts.join(', '), slots };
}

