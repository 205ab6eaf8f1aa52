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
  /** The rest is optional: the threshold rule needs none of it; the adaptive policy uses what is there. */
  /** Monotonic time of the decision (ms). */
  now?: number;
  /** Job slots per worker. */
  concurrency?: number;
  /** Jobs waiting in the pool's queues (not running, not delayed); null when Redis could not be read. */
  backlog?: number | null;
  /** Age of the oldest waiting job (ms); null when unknown or nothing waits. */
  oldestWaitMs?: number | null;
  /** Mean busy slots over the window (busy slot-time ÷ window length). */
  busySlots?: number | null;
  /** Jobs arriving per second over the window; null until two observations exist. */
  arrivalRate?: number | null;
  /** Jobs arriving per second over the last scaling period only. */
  recentArrivalRate?: number | null;
  /** Jobs finishing per second over the window. */
  completionRate?: number | null;
  /** Mean run time of the jobs that finished in the window (ms); null when none finished. */
  meanJobMs?: number | null;
  /** Mean resident memory of a running worker (MiB); null before any sample. */
  workerMemoryMb?: number | null;
  /** Resident memory of every live worker together (MiB). */
  poolMemoryMb?: number | null;
  /** The pool's memory against its cgroup's limit, for the memory guard (see MemorySnapshot). */
  memory?: MemorySnapshot;
  /** Jobs the pool has finished (completed or failed) since it started: a cumulative count. */
  finishedJobs?: number;
  /** p95 of the waits (arrival to start) of the jobs that started in the window (ms); null when none did. */
  waitP95Ms?: number | null;
  /**
   * Set on a decision taken early, before the period ended, because every slot of the pool was busy
   * (no worker starting) at the workers' latest samples: the threshold rule may then add a worker on
   * the time measured since the last resize (see decideScale).
   */
  saturated?: boolean;
  /** CPUs the host gives this daemon (cgroup quota, else the cores); null when unknown. */
  hostCores?: number | null;
  /** Share of those CPUs in use over the last scaling period, by anything on the host, in [0, 1]. */
  hostCpuBusy?: number | null;
  /** How CPU-bound the jobs were over the last period (at an early decision: the last period and since): (CPU time + wait for a CPU) ÷ busy time, in [0, 1] (see cpuBoundShare). */
  jobCpuShare?: number | null;
}

/** What the memory guard needs: the limit and what the pool's processes hold now (resident memory, MiB). */
export interface MemorySnapshot {
  /** The memory limit of the daemon's cgroup (a container's --memory); null when there is none. */
  cgroupLimitMb: number | null;
  /** The supervisor's own resident memory. */
  supervisorMb: number;
  /** Every live child that has reported its memory, together. */
  workersMb: number;
  /** Live children that have not reported it yet (just forked). */
  unmeasured: number;
  /** Live children that are not draining (the ones `workers` counts, once forked). */
  active: number;
  /** The largest child's resident memory; null before any has reported. */
  largestWorkerMb: number | null;
}

export interface ScaleDecision {
  action: ScaleAction;
  /** Workers wanted after this decision. */
  target: number;
  reason: string;
  /** Set when the CPU-saturation guard changed what the policy wanted. */
  guard?: 'held' | 'reversed';
}

export type ScalePolicy = ((snapshot: ScaleSnapshot) => ScaleDecision) & {
  /**
   * The policy judges a `saturated` snapshot before a full period at the current size (the threshold
   * rule): only such a policy is asked for early decisions. Wrappers (CPU guard, fleet cap) pass it on.
   */
  decidesEarly?: boolean;
};
