/**
 * A discrete-event simulation of one pool on a virtual clock. It runs the real policy (any
 * ScalePolicy), the real UsageWindow and the real DemandTracker; what it models is the rest of the
 * daemon: workers forked at once and ready `spawnSeconds` later, reporting cumulative busy time
 * every sample interval from their own start, utilization measured since the pool last changed size
 * (as the supervisor does), taking a waiting job the moment a slot is free (strict
 * queue order, oldest first), scale-down draining the idlest worker (a starting one first), and the
 * control loop deciding every scaling period, and early (at most once per sample interval) when
 * every slot is busy, as the daemon's saturation watch asks it to. With `cores` set it also models the host's CPUs: a
 * job's CPU share of its run time is stretched by how crowded the cores are when it starts (CPU wanted
 * by the running jobs ÷ the cores, which lose 2% for each process beyond one per core), and the policy
 * sees the host's CPU use and how CPU-bound the jobs were, as the daemon measures them. Deterministic:
 * the same trace gives the same answer.
 */
import { DemandTracker } from '../policy/demand.js';
import type { ScaleAction, ScalePolicy, ScaleSnapshot } from '../policy/types.js';
import { UsageWindow } from '../policy/usage-window.js';
import { WaitWindow } from '../policy/wait-window.js';
import type { Trace } from './traces.js';

export interface SimPool {
  minWorkers: number;
  maxWorkers: number;
  concurrency: number;
  /** Seconds, like the daemon's options. */
  scalingPeriod: number;
  window: number;
  threshold: number;
  sampleInterval: number;
  /** Fork to ready (s); measured ~0.25 s on a 2-core machine (see docs/benchmarks.md). */
  spawnSeconds: number;
  /** Resident memory of one worker (MiB), for the memory budget. */
  workerMemoryMb: number;
  /** Strict order of the queues; queues not listed come after, in order of first appearance. */
  queues?: string[];
  /** The host's CPUs; unset: CPU is never short (jobs take their trace duration). */
  cores?: number;
}

/** Each process beyond one per core costs the cores this share of their capacity (context switches, caches). */
const SWITCH_COST = 0.02;

export interface TickRow {
  /** Seconds. */
  t: number;
  /** Work offered in the last period, in busy slots (sum of arriving jobs' durations ÷ period). */
  offered: number;
  arrivals: number;
  workersBefore: number;
  workers: number;
  utilization: number | null;
  backlog: number;
  action: ScaleAction;
  reason: string;
}

export interface SimSummary {
  trace: string;
  jobs: number;
  finished: number;
  wait: { p50: number; p95: number; p99: number; max: number; mean: number };
  workerSeconds: number;
  meanUtilization: number;
  scaleEvents: number;
  reversals: number;
  pinnedAtMaxSeconds: number;
  durationSeconds: number;
  peakWorkers: number;
}

export interface SimResult {
  summary: SimSummary;
  timeline: TickRow[];
  /** Live workers (starting, running, draining) after each change: [seconds, count]. */
  liveSteps: Array<[number, number]>;
}

interface SimWorker {
  id: number;
  key: string;
  state: 'starting' | 'running' | 'draining' | 'exited';
  readyAt: number;
  nextSampleAt: number;
  running: number;
  /** Start times (ms) of running jobs, by job index. */
  starts: Map<number, number>;
  /** Run time (ms) of each running job, stretched by the CPU crowding when it started. */
  runs: Map<number, number>;
  busyDoneMs: number;
}

/** A binary min-heap of job completions. */
class CompletionHeap {
  private t: number[] = [];
  private w: SimWorker[] = [];
  private j: number[] = [];
  get size(): number {
    return this.t.length;
  }
  peekTime(): number {
    return this.t.length ? this.t[0]! : Infinity;
  }
  push(time: number, worker: SimWorker, job: number): void {
    const { t, w, j } = this;
    let i = t.length;
    t.push(time);
    w.push(worker);
    j.push(job);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (t[p]! <= time) break;
      t[i] = t[p]!;
      w[i] = w[p]!;
      j[i] = j[p]!;
      i = p;
    }
    t[i] = time;
    w[i] = worker;
    j[i] = job;
  }
  pop(): { time: number; worker: SimWorker; job: number } {
    const { t, w, j } = this;
    const top = { time: t[0]!, worker: w[0]!, job: j[0]! };
    const lt = t.pop()!;
    const lw = w.pop()!;
    const lj = j.pop()!;
    const n = t.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && t[r]! < t[l]! ? r : l;
        if (t[c]! >= lt) break;
        t[i] = t[c]!;
        w[i] = w[c]!;
        j[i] = j[c]!;
        i = c;
      }
      t[i] = lt;
      w[i] = lw;
      j[i] = lj;
    }
    return top;
  }
}

const GIVE_UP_AFTER_MS = 24 * 3600 * 1000;

export function simulate(trace: Trace, pool: SimPool, policy: ScalePolicy): SimResult {
  const periodMs = pool.scalingPeriod * 1000;
  const sampleMs = pool.sampleInterval * 1000;
  const spawnMs = pool.spawnSeconds * 1000;
  const horizonMs = trace.horizon * 1000;
  const usage = new UsageWindow(pool.window * 1000);
  const demand = new DemandTracker(pool.window * 1000);
  const waitWindow = new WaitWindow(pool.window * 1000);

  const n = trace.jobs.length;
  const arrival = new Float64Array(n);
  const duration = new Float64Array(n);
  const started = new Float64Array(n).fill(-1);
  const queueOrder = [...(pool.queues ?? [])];
  const queueIndex = new Map(queueOrder.map((q, i) => [q, i]));
  const jobQueue = new Int32Array(n);
  const cpuShare = new Float64Array(n);
  trace.jobs.forEach((job, i) => {
    arrival[i] = job.arrival * 1000;
    duration[i] = job.duration * 1000;
    cpuShare[i] = Math.min(1, Math.max(0, job.cpu ?? 0));
    let qi = queueIndex.get(job.queue);
    if (qi === undefined) {
      qi = queueOrder.length;
      queueOrder.push(job.queue);
      queueIndex.set(job.queue, qi);
    }
    jobQueue[i] = qi;
  });
  // Waiting jobs per queue: arrays of job indexes with a moving head (FIFO).
  const waiting: number[][] = queueOrder.map(() => []);
  const heads: number[] = queueOrder.map(() => 0);
  let waitingCount = 0;

  const workers: SimWorker[] = [];
  let nextId = 1;
  let desired = 0;
  let now = 0;
  /** As the supervisor: when a worker last became ready, started draining or died. */
  let lastResizeAt = -Infinity;
  let nextArrival = 0;
  let finished = 0;
  let finishedBusyMs = 0;
  const heap = new CompletionHeap();

  // Accounting.
  let workerMs = 0;
  let availableMs = 0;
  let busyTotalMs = 0;
  let pinnedMs = 0;
  let peak = 0;
  const liveSteps: Array<[number, number]> = [[0, 0]];
  const timeline: TickRow[] = [];
  let periodWork = 0;
  let periodArrivals = 0;
  let scaleEvents = 0;
  let reversals = 0;
  let lastDirection: ScaleAction | undefined;
  // The CPU model: cores wanted by running jobs (Σ their CPU share of wall time) and, per period,
  // the CPU used and the busy time that was on or waiting for a core.
  let cpuWanted = 0;
  let cpuOrWaitRate = 0;
  let periodCpuMs = 0;
  let periodCpuOrWaitMs = 0;
  let periodBusyMs = 0;
  let lastTickAt = 0;
  const cores = pool.cores;
  const jobCpu = new Float64Array(n);
  const jobCpuOrWait = new Float64Array(n);

  const live = () => workers.filter((w) => w.state !== 'exited');
  const noteLive = () => {
    const count = live().length;
    peak = Math.max(peak, count);
    const last = liveSteps[liveSteps.length - 1]!;
    if (last[0] === now / 1000) last[1] = count;
    else if (last[1] !== count) liveSteps.push([now / 1000, count]);
  };

  const exitWorker = (w: SimWorker) => {
    if (w.state !== 'starting') usage.workerExited(w.key, now);
    w.state = 'exited';
    workers.splice(workers.indexOf(w), 1);
    noteLive();
  };

  const takeJob = (): number | undefined => {
    if (waitingCount === 0) return undefined;
    for (let q = 0; q < waiting.length; q++) {
      const list = waiting[q]!;
      if (heads[q]! < list.length) {
        const job = list[heads[q]!]!;
        heads[q]!++;
        if (heads[q]! > 1024 && heads[q]! * 2 > list.length) {
          list.splice(0, heads[q]!);
          heads[q] = 0;
        }
        waitingCount--;
        return job;
      }
    }
    return undefined;
  };

  const effectiveCores = () => (cores === undefined ? Infinity : cores * Math.max(0.1, 1 - SWITCH_COST * Math.max(0, live().length - cores)));

  const startJob = (w: SimWorker, job: number) => {
    started[job] = now;
    waitWindow.record(now, now - arrival[job]!);
    w.running++;
    w.starts.set(job, now);
    let run = duration[job]!;
    const c = cpuShare[job]!;
    if (cores !== undefined && c > 0) {
      // The CPU part runs slower when the cores are crowded: by (CPU wanted with this job) ÷ cores.
      const stretch = Math.max(1, (cpuWanted + c) / effectiveCores());
      run = duration[job]! * (1 - c) + duration[job]! * c * stretch;
      jobCpu[job] = (duration[job]! * c) / run;
      jobCpuOrWait[job] = (duration[job]! * c * stretch) / run;
      cpuWanted += jobCpu[job]!;
      cpuOrWaitRate += jobCpuOrWait[job]!;
    }
    w.runs.set(job, run);
    heap.push(now + run, w, job);
  };

  /** Fill free slots of running workers, lowest id first (an idle worker takes a job at once). */
  const dispatch = () => {
    if (waitingCount === 0) return;
    for (const w of workers) {
      if (w.state !== 'running') continue;
      while (w.running < pool.concurrency) {
        const job = takeJob();
        if (job === undefined) return;
        startJob(w, job);
      }
    }
  };

  const setDesired = (target: number) => {
    desired = Math.max(0, target);
    let active = workers.filter((w) => w.state === 'starting' || w.state === 'running');
    while (active.length < desired) {
      const id = nextId++;
      const w: SimWorker = { id, key: `worker-${id}`, state: 'starting', readyAt: now + spawnMs, nextSampleAt: Infinity, running: 0, starts: new Map(), runs: new Map(), busyDoneMs: 0 };
      workers.push(w);
      active.push(w);
    }
    while (active.length > desired) {
      // The supervisor's choice: a starting worker first, then the least busy, then the newest.
      active.sort((a, b) => rank(a) - rank(b) || b.id - a.id);
      const victim = active.shift()!;
      lastResizeAt = now;
      if (victim.state === 'starting' || victim.running === 0) exitWorker(victim);
      else victim.state = 'draining';
    }
    noteLive();
  };
  const rank = (w: SimWorker) => (w.state === 'starting' ? -1 : w.running);

  const busyMsOf = (w: SimWorker) => {
    let ms = w.busyDoneMs;
    for (const s of w.starts.values()) ms += now - s;
    return ms;
  };

  let lastEarlyAt = -Infinity;

  /**
   * One decision: periodic, or early (`saturated`), which counts only when it adds a worker (a row
   * in the timeline, the next period starting from it). Returns whether it made a row.
   */
  const tick = (saturated = false): boolean => {
    usage.prune(now);
    // As the supervisor: utilization since the pool last changed size, at most the window.
    const since = Math.max(now - usage.window, lastResizeAt);
    const utilization = usage.utilization(now, since);
    let runningJobs = 0;
    const running = workers.filter((w) => w.state === 'running' || w.state === 'draining');
    for (const w of running) runningJobs += w.running;
    demand.observe({ at: now, backlog: waitingCount, running: runningJobs, finished, finishedBusyMs });
    let oldest = Infinity;
    for (let q = 0; q < waiting.length; q++) {
      const list = waiting[q]!;
      if (heads[q]! < list.length) oldest = Math.min(oldest, arrival[list[heads[q]!]!]!);
    }
    const before = desired;
    const decision = policy({
      workers: before,
      minWorkers: pool.minWorkers,
      maxWorkers: pool.maxWorkers,
      utilization,
      threshold: pool.threshold,
      measuredMs: now - since,
      periodMs,
      now,
      concurrency: pool.concurrency,
      backlog: waitingCount,
      oldestWaitMs: Number.isFinite(oldest) ? now - oldest : null,
      ...demand.rates(),
      workerMemoryMb: running.length > 0 ? pool.workerMemoryMb : null,
      poolMemoryMb: running.length > 0 ? pool.workerMemoryMb * live().length : null,
      busySlots: usage.totals(now).busyMs / usage.window,
      finishedJobs: finished,
      waitP95Ms: waitWindow.quantile(now, 0.95),
      ...cpuFigures(),
      ...(saturated ? { saturated } : {}),
    });
    if (saturated && decision.target <= before) return false; // only a step up is taken early
    if (!saturated) {
      lastTickAt = now;
      periodCpuMs = 0;
      periodCpuOrWaitMs = 0;
      periodBusyMs = 0;
    }
    if (decision.target !== before) {
      scaleEvents++;
      const direction = decision.target > before ? 'up' : 'down';
      if (lastDirection !== undefined && lastDirection !== direction) reversals++;
      lastDirection = direction;
      setDesired(decision.target);
    }
    timeline.push({
      t: now / 1000,
      offered: periodWork / periodMs,
      arrivals: periodArrivals,
      workersBefore: before,
      workers: decision.target,
      utilization,
      backlog: waitingCount,
      action: decision.action,
      reason: decision.reason,
    });
    periodWork = 0;
    periodArrivals = 0;
    return true;
  };

  /** The host's CPU use and how CPU-bound the jobs were since the last periodic decision (with `cores`); an early decision does not restart them. */
  const cpuFigures = (): Partial<ScaleSnapshot> =>
    cores === undefined
      ? {}
      : {
          hostCores: cores,
          hostCpuBusy: now > lastTickAt ? Math.min(1, periodCpuMs / ((now - lastTickAt) * cores)) : null,
          jobCpuShare: periodBusyMs > 0 ? Math.min(1, periodCpuOrWaitMs / periodBusyMs) : null,
        };

  /** As the daemon's saturation watch: every slot filled and busy, none starting, below max: decide early. */
  const maybeDecideEarly = () => {
    if (!policy.decidesEarly || desired <= 0 || desired >= pool.maxWorkers || now - lastEarlyAt < sampleMs) return;
    let active = 0;
    for (const w of workers) {
      if (w.state === 'draining') continue;
      if (w.state === 'starting' || w.running < pool.concurrency) return;
      active++;
    }
    if (active !== desired) return;
    lastEarlyAt = now;
    if (tick(true)) nextTick = now + periodMs;
  };

  setDesired(pool.minWorkers);
  let nextTick = periodMs;

  for (;;) {
    // The next event: a completion, an arrival, a worker ready, a sample, or a tick.
    let t = heap.peekTime();
    if (nextArrival < n) t = Math.min(t, arrival[nextArrival]!);
    let nextWorkerEvent = Infinity;
    for (const w of workers) {
      if (w.state === 'starting') nextWorkerEvent = Math.min(nextWorkerEvent, w.readyAt);
      else if (w.state === 'running' || w.state === 'draining') nextWorkerEvent = Math.min(nextWorkerEvent, w.nextSampleAt);
    }
    t = Math.min(t, nextWorkerEvent);
    const done = nextArrival >= n && heap.size === 0 && waitingCount === 0;
    if (done && now >= horizonMs) break;
    // A policy that never serves the waiting jobs: give up long after the horizon (reported as unfinished).
    if (now > horizonMs + GIVE_UP_AFTER_MS) break;
    t = Math.min(t, nextTick);
    if (done && t > horizonMs) t = horizonMs;

    // Advance the clock and the accounting.
    const dt = t - now;
    if (dt > 0) {
      let liveCount = 0;
      let runningSlots = 0;
      let busySlots = 0;
      for (const w of workers) {
        if (w.state === 'exited') continue;
        liveCount++;
        if (w.state !== 'starting') runningSlots += pool.concurrency;
        busySlots += w.running;
      }
      workerMs += liveCount * dt;
      availableMs += runningSlots * dt;
      busyTotalMs += busySlots * dt;
      periodBusyMs += busySlots * dt;
      // Cores lost to switching between too many processes are busy too.
      if (cores !== undefined) periodCpuMs += Math.min(1, cpuWanted / effectiveCores()) * cores * dt;
      periodCpuOrWaitMs += cpuOrWaitRate * dt;
      if (desired >= pool.maxWorkers) pinnedMs += dt;
      now = t;
    }
    if (done && now >= horizonMs) break;

    if (heap.peekTime() <= now) {
      const { worker: w, job } = heap.pop();
      const run = w.runs.get(job) ?? duration[job]!;
      w.running--;
      w.starts.delete(job);
      w.runs.delete(job);
      w.busyDoneMs += run;
      finished++;
      finishedBusyMs += run;
      if (jobCpu[job]! > 0) {
        cpuWanted = Math.max(0, cpuWanted - jobCpu[job]!);
        cpuOrWaitRate = Math.max(0, cpuOrWaitRate - jobCpuOrWait[job]!);
      }
      if (w.state === 'draining') {
        if (w.running === 0) exitWorker(w);
      } else {
        const next = takeJob();
        if (next !== undefined) startJob(w, next);
      }
      maybeDecideEarly();
      continue;
    }
    if (nextArrival < n && arrival[nextArrival]! <= now) {
      const job = nextArrival++;
      waiting[jobQueue[job]!]!.push(job);
      waitingCount++;
      periodWork += duration[job]!;
      periodArrivals++;
      dispatch();
      maybeDecideEarly();
      continue;
    }
    if (nextWorkerEvent <= now) {
      for (const w of workers) {
        if (w.state === 'starting' && w.readyAt <= now) {
          w.state = 'running';
          lastResizeAt = now;
          w.nextSampleAt = now + sampleMs;
          usage.workerStarted(w.key, now, pool.concurrency);
          dispatch();
        } else if ((w.state === 'running' || w.state === 'draining') && w.nextSampleAt <= now) {
          usage.record(w.key, { at: now, busyMs: busyMsOf(w), busySlots: w.running });
          w.nextSampleAt += sampleMs;
        }
      }
      maybeDecideEarly();
      continue;
    }
    if (nextTick <= now) {
      tick();
      nextTick += periodMs;
    }
  }

  const waits: number[] = [];
  for (let i = 0; i < n; i++) if (started[i]! >= 0) waits.push((started[i]! - arrival[i]!) / 1000);
  const sorted = Float64Array.from(waits).sort();
  const mean = waits.reduce((a, b) => a + b, 0) / Math.max(1, waits.length);
  return {
    summary: {
      trace: trace.name,
      jobs: n,
      finished,
      wait: { p50: percentile(sorted, 0.5), p95: percentile(sorted, 0.95), p99: percentile(sorted, 0.99), max: sorted.length ? sorted[sorted.length - 1]! : 0, mean },
      workerSeconds: workerMs / 1000,
      meanUtilization: availableMs > 0 ? busyTotalMs / availableMs : 0,
      scaleEvents,
      reversals,
      pinnedAtMaxSeconds: pinnedMs / 1000,
      durationSeconds: now / 1000,
      peakWorkers: peak,
    },
    timeline,
    liveSteps,
  };
}

/** Nearest-rank percentile of sorted values (0 when empty). */
export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(p * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}
