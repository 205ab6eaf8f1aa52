/**
 * The CPU-saturation guard (on by default, `--no-cpu-guard` turns it off): wraps any scaling policy
 * so that it does not add a worker while the host's CPUs are saturated and the pool's jobs are
 * CPU-bound (busy time says how much of the pool's time went to jobs, not whether another process
 * would help), and steps back a step up that did not raise the pool's completion rate under those
 * conditions. Up to one worker more than there are cores a step is let through and judged by its
 * result (a CPU-bound job still waits on Redis between jobs, and one more process fills that); an I/O-bound
 * pool, or any pool on a host with CPU to spare, gets exactly what the wrapped policy decides.
 * Pure apart from its memory of recent completions and of the step it is judging, kept in the
 * closure; time comes from the snapshot.
 */
import type { ScaleDecision, ScalePolicy, ScaleSnapshot } from './types.js';
import { fmt } from './figures.js';

export interface CpuGuardOptions {
  /** Host CPU use (share of its cores) at or above which the CPUs count as saturated. */
  saturation: number;
  /**
   * Past one worker per core, the CPUs count as saturated from this much lower already: a dip of the
   * host's CPU use in one period must not let a CPU-bound pool climb (noise would, step by step).
   */
  margin: number;
  /** jobCpuShare at or above which the pool's jobs count as CPU-bound. */
  cpuBound: number;
  /** A step up is kept only if it raised the completion rate by at least this fraction. */
  minGain: number;
  /** After a step back, no step past the size that was kept, while CPU-bound, for this long (ms). */
  retryAfterMs: number;
}

export const DEFAULT_CPU_GUARD: CpuGuardOptions = {
  // Redis, the supervisor and the kernel need some CPU too: 90% of the cores is as full as it gets.
  saturation: 0.9,
  margin: 0.15,
  // Half of the time a busy slot could use the CPU is spent on it: more processes mostly queue for cores.
  cpuBound: 0.5,
  // Below 5% a gain is noise on a period's count; a worker costs ~65 MiB and a fork.
  minGain: 0.05,
  retryAfterMs: 60_000,
};

/**
 * How CPU-bound the pool's jobs were over a span. Where the time the workers waited, runnable, for a
 * CPU is known (`runWaitMs`): (CPU time + that wait) ÷ busy slot-time — a job that is not sleeping on
 * I/O is on a core or queueing for one. Otherwise: CPU time ÷ the CPU the busy slots could have had
 * (busy slot-time, at most the cores for the span): eight busy workers on two saturated cores use ~2
 * cores, 0.95. Null when nothing was busy.
 */
export function cpuBoundShare(cpuMs: number, busyMs: number, cores: number, spanMs: number, runWaitMs?: number): number | null {
  if (runWaitMs !== undefined) {
    if (!(busyMs > 0)) return null;
    return Math.min(1, Math.max(0, (cpuMs + runWaitMs) / busyMs));
  }
  const could = Math.min(busyMs, cores * spanMs);
  if (!(could > 0)) return null;
  return Math.min(1, Math.max(0, cpuMs / could));
}

interface Step {
  at: number;
  from: number;
  to: number;
  rateBefore: number;
}

/** A judgement on fewer completions than this is noise; wait longer (up to JUDGE_PERIODS periods). */
const JUDGE_JOBS = 20;
const JUDGE_PERIODS = 10;

export function withCpuGuard(inner: ScalePolicy, opts: CpuGuardOptions = DEFAULT_CPU_GUARD): ScalePolicy {
  const seen: Array<{ at: number; finished: number }> = [];
  let pending: Step | undefined;
  let ceiling: { size: number; until: number; from: number; to: number } | undefined;
  let clock = 0;

  /** Completions per second since the pool had its current size (measuredMs), from the ticks seen then. */
  const rateSince = (now: number, measuredMs: number): { rate: number; jobs: number } | null => {
    const newest = seen[seen.length - 1];
    const first = seen.find((r) => r.at >= now - measuredMs);
    if (!newest || !first || newest.at - first.at <= 0) return null;
    const jobs = newest.finished - first.finished;
    return { rate: (jobs * 1000) / (newest.at - first.at), jobs };
  };

  const guarded = (s: ScaleSnapshot): ScaleDecision => {
    const now = s.now ?? (clock += 1);
    let d = inner(s);
    if (s.finishedJobs !== undefined) {
      seen.push({ at: now, finished: s.finishedJobs });
      while (seen.length > 2 && (seen.length > 1000 || seen[0]!.at < now - 3_600_000)) seen.shift();
    }
    if (s.workers < s.minWorkers || s.workers > s.maxWorkers) return d;

    const cores = s.hostCores ?? null;
    const busy = s.hostCpuBusy ?? null;
    const share = s.jobCpuShare ?? null;
    const saturated = cores !== null && busy !== null && (busy >= opts.saturation || (s.workers > cores && busy >= opts.saturation - opts.margin));
    const cpuBound = share !== null && share >= opts.cpuBound;
    const figures = () => `host CPU ${pct(busy!)} of ${fmt(cores!, 1)} cores, jobs CPU-bound (on or waiting for a CPU ${pct(share!)} of their busy time)`;

    // Judge the last step up once the new size (its workers ready after the step) was measured for a
    // full period, on enough completions.
    if (pending && s.workers !== pending.to) pending = undefined;
    // (At a periodic decision only: an early one is asked whether to add a worker, nothing else.)
    if (pending && !s.saturated && s.measuredMs >= s.periodMs && now - s.measuredMs >= pending.at) {
      const measured = rateSince(now, s.measuredMs);
      const enough = measured !== null && (measured.jobs >= JUDGE_JOBS || s.measuredMs >= JUDGE_PERIODS * s.periodMs);
      if (measured !== null && enough) {
        const after = measured.rate;
        const step = pending;
        pending = undefined;
        if (saturated && cpuBound && after < step.rateBefore * (1 + opts.minGain) && d.target >= s.workers && step.from >= s.minWorkers) {
          ceiling = { size: step.from, until: now + opts.retryAfterMs, from: step.from, to: step.to };
          return {
            action: 'down',
            target: step.from,
            reason: `cpu guard reversed step ${step.from}→${step.to}: completions ${rate(step.rateBefore)} → ${rate(after)} (< +${pct(opts.minGain)}) with ${figures()}`,
            guard: 'reversed',
          };
        }
      }
    }

    if (d.target <= s.workers) return d;
    // A step taken early (every slot busy, less than a period at this size) would leave the last
    // step on CPU-bound jobs unjudged: unless the jobs are known not to be, steps wait for the period.
    if (s.saturated && s.measuredMs < s.periodMs && (share === null || cpuBound)) {
      return { action: 'hold', target: s.workers, reason: `${d.reason}; cpu guard held the early step: jobs ${share === null ? 'not known to be I/O-bound' : 'CPU-bound'} step once a period, so that each step is judged`, guard: 'held' };
    }
    // One worker per core, and one more: it fills the cores while the others wait on Redis between jobs.
    if (saturated && cpuBound && s.workers > cores!) {
      return { action: 'hold', target: s.workers, reason: `${d.reason}; cpu guard held the step: ${figures()}`, guard: 'held' };
    }
    // Past one worker per core, a CPU-bound pool with nothing waiting gains nothing from one more: the
    // window's average still holds the backlog just drained (the host's CPU dips as it empties), and
    // the load of now fits the workers there are.
    if (cpuBound && cores !== null && s.workers > cores && s.backlog === 0) {
      return { action: 'hold', target: s.workers, reason: `${d.reason}; cpu guard held the step: no job waiting and jobs CPU-bound (on or waiting for a CPU ${pct(share!)} of their busy time) with ${s.workers} workers on ${fmt(cores, 1)} cores`, guard: 'held' };
    }
    // A policy that steps by several at once gets as far as one worker more than the cores, or, on a
    // host with CPU to spare, one more than would fill them at the CPU the pool uses now.
    if (cpuBound && cores !== null && busy !== null) {
      const perCore = Math.floor(cores) + 1;
      const fill = busy > 0 ? Math.floor(s.workers / busy) + 1 : Infinity;
      const cap = Math.max(s.workers + 1, saturated ? perCore : Math.max(perCore, fill));
      if (d.target > cap) d = { action: 'up', target: cap, reason: `${d.reason}; cpu guard capped the step at ${cap} workers: ${figures()}`, guard: 'held' };
    }
    if (ceiling && now < ceiling.until && cpuBound && d.target > ceiling.size) {
      const ago = (now - (ceiling.until - opts.retryAfterMs)) / 1000;
      return { action: 'hold', target: s.workers, reason: `${d.reason}; cpu guard held the step: ${ceiling.from}→${ceiling.to} did not raise completions ${fmt(ago, 1)} s ago, with ${busy !== null && cores !== null && share !== null ? figures() : 'jobs CPU-bound'}`, guard: 'held' };
    }
    if (cpuBound) {
      const before = rateSince(now, s.measuredMs);
      if (before !== null) pending = { at: now, from: s.workers, to: d.target, rateBefore: before.rate };
    }
    return d;
  };
  guarded.decidesEarly = inner.decidesEarly;
  return guarded;
}

function pct(x: number): string {
  return `${Math.round(x * 100)}%`;
}

function rate(x: number): string {
  return `${x.toFixed(1)}/s`;
}

