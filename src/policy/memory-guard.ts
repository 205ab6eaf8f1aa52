/**
 * The memory guard: wraps any scaling policy so that the pool never starts a worker that would take
 * it over its memory limit. The limit is `--memory-budget-mb` when given, else the memory limit of
 * the daemon's cgroup (a container's --memory), with a share of it kept free: the kernel counts page
 * cache and its own memory against a cgroup too, and the workers' memory is known only as of their
 * last sample. What the pool holds is the supervisor's resident memory and every live worker's; a new
 * worker is taken to need as much as the largest one (at least a floor: a fresh child with its
 * BullMQ connection). Min-workers always wins; a pool already over the limit is not shrunk (a worker
 * that grows too large is --max-memory-mb's business). Pure: figures come in the snapshot.
 */
import type { MemorySnapshot, ScaleDecision, ScalePolicy, ScaleSnapshot } from './types.js';

export interface MemoryGuardOptions {
  /** --memory-budget-mb: the pool's resident memory (supervisor and workers) stays under this (MiB). */
  budgetMb?: number;
  /** Share of a cgroup's limit kept free. */
  headroom: number;
  /** Least memory a new worker is taken to need (MiB). */
  floorMb: number;
}

export const DEFAULT_MEMORY_GUARD: MemoryGuardOptions = {
  // Page cache, kernel memory and a second of growth between samples: a tenth of the limit.
  headroom: 0.1,
  // A child with BullMQ and its Redis connection, idle (DESIGN: ~67 MiB).
  floorMb: 64,
};

/** Most workers the limit allows, with the figures that say why; undefined when there is no limit. */
export function memoryRoom(s: Pick<ScaleSnapshot, 'workers' | 'memory' | 'workerMemoryMb' | 'poolMemoryMb'>, opts: MemoryGuardOptions): { allowed: number; why: string } | undefined {
  const m = s.memory ?? fromPoolFigures(s);
  if (!m) return undefined;
  const cgroup = m.cgroupLimitMb !== null ? m.cgroupLimitMb * (1 - opts.headroom) : Infinity;
  const budget = opts.budgetMb ?? Infinity;
  const usable = Math.min(cgroup, budget);
  if (!Number.isFinite(usable)) return undefined;
  const need = Math.max(m.largestWorkerMb ?? 0, opts.floorMb);
  // Children forked but not measured yet, and slots wanted but not forked yet, each take `need`.
  const pending = m.unmeasured + Math.max(0, s.workers - m.active);
  const used = m.supervisorMb + m.workersMb + pending * need;
  const allowed = s.workers + Math.max(0, Math.floor((usable - used) / need + 1e-9));
  const limit = budget <= cgroup ? `memory budget ${mb(budget)} MiB` : `cgroup memory limit ${mb(m.cgroupLimitMb!)} MiB less ${Math.round(opts.headroom * 100)}% kept free`;
  return { allowed, why: `pool ${mb(used)} MiB (supervisor ${mb(m.supervisorMb)}, workers ${mb(used - m.supervisorMb)}), a new worker ~${mb(need)} MiB, ${limit}` };
}

/** The figures a caller without a MemorySnapshot gives (the simulator): workers' memory only, no cgroup. */
function fromPoolFigures(s: Pick<ScaleSnapshot, 'workers' | 'workerMemoryMb' | 'poolMemoryMb'>): MemorySnapshot | undefined {
  const per = s.workerMemoryMb;
  if (per == null || !(per > 0)) return undefined;
  return { cgroupLimitMb: null, supervisorMb: 0, workersMb: s.poolMemoryMb ?? per * s.workers, unmeasured: 0, active: s.workers, largestWorkerMb: per };
}

export function withMemoryGuard(inner: ScalePolicy, opts: MemoryGuardOptions = DEFAULT_MEMORY_GUARD): ScalePolicy {
  const guarded = (s: ScaleSnapshot): ScaleDecision => {
    const d = inner(s);
    if (d.target <= s.workers || s.workers < s.minWorkers) return d;
    const room = memoryRoom(s, opts);
    if (!room || d.target <= room.allowed) return d;
    if (room.allowed <= s.workers) return { action: 'hold', target: s.workers, reason: `${d.reason}; memory guard held the step: ${room.why}` };
    return { action: 'up', target: room.allowed, reason: `${d.reason}; memory guard capped the step at ${room.allowed} workers: ${room.why}` };
  };
  guarded.decidesEarly = inner.decidesEarly;
  return guarded;
}

function mb(x: number): string {
  return String(Math.round(x));
}
