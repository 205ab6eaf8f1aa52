/**
 * The latency policy (`--policy latency --target-wait SECONDS`): keep how long jobs wait under a
 * target with the fewest workers, as Judoscale and HireFire scale on queue time. It sizes the pool
 * with the M/M/c queue (Erlang C): the fewest slots for which at most 5% of jobs would wait longer
 * than the target at the measured arrival rate and job time, plus the slots that clear the backlog
 * within half the target. Up: as soon as the oldest waiting job passes the target (at least one more
 * worker, more if the model says so, by at most `maxStep`), or when the model's size is above the
 * current one while jobs wait; never past max-workers (nor the memory guard's limit). Down: one worker at a
 * time, and only after `stabilizationMs` in which every decision saw waits well under the target
 * (p95 and oldest below half of it) and a smaller size recommended. Pure apart from that memory of
 * recent decisions, kept in the closure; time comes from the snapshot.
 */
import { fmt } from './figures.js';
import type { ScaleDecision, ScalePolicy, ScaleSnapshot } from './types.js';
import { withinLimits } from './limits.js';

export interface LatencyOptions {
  /** Waits (p95 over the window, and the oldest waiting job) should stay under this (ms). */
  targetWaitMs: number;
  /** Most workers added by one decision (≥ 1). */
  maxStep: number;
  /** A scale-down needs this long of calm: waits well under the target and a smaller size wanted (ms). */
  stabilizationMs: number;
}

/** Share of jobs allowed to wait longer than the target: the target is a p95. */
const OVER_TARGET = 0.05;

export function createLatencyPolicy(opts: LatencyOptions): ScalePolicy {
  if (!(opts.targetWaitMs > 0)) throw new RangeError(`targetWaitMs must be > 0, got ${opts.targetWaitMs}`);
  if (!(opts.maxStep >= 1)) throw new RangeError(`maxStep must be ≥ 1, got ${opts.maxStep}`);
  /** Since when every decision saw calm waits and wanted fewer workers than there were; undefined when not. */
  let calmSince: number | undefined;

  return withinLimits((s: ScaleSnapshot, now: number): ScaleDecision => {
    const { workers, minWorkers, maxWorkers } = s;

    const T = opts.targetWaitMs;
    const backlog = s.backlog ?? 0;
    const oldest = backlog > 0 ? s.oldestWaitMs ?? null : null;
    const p95 = s.waitP95Ms ?? null;
    const { want, why } = latencyRecommend(s, T);
    const parts = [why];
    if (p95 !== null) parts.push(`wait p95 ${sec(p95)}`);
    if (oldest !== null) parts.push(`oldest waiting ${sec(oldest)}`);
    parts.push(`target ${sec(T)}`);
    const said = parts.join(', ');

    const isCalm = (p95 === null || p95 < T / 2) && (oldest === null || oldest < T / 2) && want < workers;
    if (!isCalm) calmSince = undefined;
    else calmSince ??= now;

    let up = 0;
    if (oldest !== null && oldest > T) up = Math.max(want, workers + 1);
    else if (want > workers && (backlog > 0 || (p95 !== null && p95 > T / 2))) up = want;
    else if (workers === 0 && backlog > 0) up = 1;
    if (up > workers && workers < maxWorkers) {
      const target = Math.min(up, workers + opts.maxStep, maxWorkers);
      return { action: 'up', target, reason: `${said}; wants ${up}${target < up ? ` (step ≤ ${opts.maxStep})` : ''}` };
    }
    if (up > workers) return { action: 'hold', target: workers, reason: `${said}; wants ${up} but at max-workers` };

    // Calm for the whole stabilization period, and the current size measured for a period: one fewer.
    const calmMs = calmSince === undefined ? 0 : now - calmSince;
    if (workers > minWorkers && calmSince !== undefined && calmMs >= opts.stabilizationMs && s.measuredMs >= s.periodMs) {
      return { action: 'down', target: workers - 1, reason: `${said}; wants ${want}; waits under half the target for ${sec(calmMs)}` };
    }
    return { action: 'hold', target: workers, reason: `${said}; wants ${want}` };
  });
}

/** Workers the latency target calls for (Erlang C plus the backlog), within [min, max], with a one-line explanation. */
export function latencyRecommend(s: ScaleSnapshot, targetWaitMs: number): { want: number; why: string } {
  const concurrency = Math.max(1, s.concurrency ?? 1);
  const meanJobMs = s.meanJobMs ?? null;
  // A wait target cannot afford the window's lag on a rising load: the last period's rate when higher.
  const rate = Math.max(s.arrivalRate ?? 0, s.recentArrivalRate ?? 0);
  const backlog = s.backlog ?? 0;
  if (meanJobMs === null || !(meanJobMs > 0)) {
    // Nothing finished yet: no model. Keep what there is (the oldest-wait rule still adds workers).
    const want = Math.min(s.maxWorkers, Math.max(s.minWorkers, s.workers));
    return { want, why: 'job time unknown' };
  }
  const offered = (rate * meanJobMs) / 1000;
  const maxSlots = s.maxWorkers * concurrency;
  const slots = slotsForTarget(offered, meanJobMs, targetWaitMs, maxSlots) + (backlog * meanJobMs) / (targetWaitMs / 2);
  const want = Math.min(s.maxWorkers, Math.max(s.minWorkers, Math.ceil(slots / concurrency - 1e-9)));
  return { want, why: `demand ${fmt(offered)} slots (${fmt(rate)} jobs/s × ${sec(meanJobMs)})${backlog > 0 ? `, backlog ${backlog}` : ''}` };
}

/**
 * Fewest slots c for which an M/M/c queue with `offered` busy slots (λ × mean job time) keeps
 * P(wait > target) ≤ 5%: P(wait > t) = C(c, a) · e^(−(c − a) · t / S) (Erlang C). At most `maxSlots + 1`.
 */
export function slotsForTarget(offered: number, meanJobMs: number, targetWaitMs: number, maxSlots: number): number {
  if (!(offered > 0)) return 0;
  let b = 1; // Erlang B with 0 slots
  for (let c = 1; c <= maxSlots; c++) {
    b = (offered * b) / (c + offered * b);
    if (c <= offered) continue;
    const erlangC = (c * b) / (c - offered * (1 - b));
    if (erlangC * Math.exp((-(c - offered) * targetWaitMs) / meanJobMs) <= OVER_TARGET) return c;
  }
  return maxSlots + 1;
}

function sec(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 0)} s`;
}

