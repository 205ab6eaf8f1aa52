/**
 * PoolDemand: what the control loop tells a policy besides utilization — the backlog and the oldest
 * job's age (read from Redis before each tick), arrival and completion rates and mean job time
 * (a DemandTracker fed by the job counts in the workers' samples), the p95 wait of jobs that started
 * in the window (the waits the samples carry), the workers' memory, and for the CPU-saturation guard the host's
 * CPU use and how CPU-bound the jobs were over the last period (the children's CPU time, reported
 * with their samples, against their busy time). In a fleet, a queue's backlog is divided by the live
 * instances listening to it, so N hosts do not each add workers for the whole of it.
 */
import type { Clock } from '../clock.js';
import type { QueueCountsReader } from '../redis/queue-counts.js';
import { cpuBoundShare } from '../policy/cpu-guard.js';
import { DemandTracker } from '../policy/demand.js';
import type { ScaleSnapshot } from '../policy/types.js';
import { WaitWindow } from '../policy/wait-window.js';
import type { DemandSource } from './control-loop.js';
import { HostCpu, schedTimes, type CpuReading } from './host-cpu.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { WorkerProcess } from '../supervisor/worker-process.js';

const PROBE_TIMEOUT_MS = 1000;

export class PoolDemand implements DemandSource {
  private readonly tracker: DemandTracker;
  private readonly waits: WaitWindow;
  private finished = 0;
  private finishedBusyMs = 0;
  private backlog: number | null = null;
  private oldestWaitMs: number | null = null;
  /** CPU µs of each live worker at its last sample, and all the workers' CPU µs since the pool started. */
  private readonly cpuSeen = new Map<string, number>();
  private poolCpuUs = 0;
  /** Run-queue wait (ms) of each live worker (by key) at the last refresh. */
  private readonly waitSeen = new Map<string, number>();
  private lastRefresh: { at: number; poolCpuUs: number } | undefined;
  private readonly startedAt: number;
  private cpu: CpuReading | undefined;
  private jobCpuShare: number | null = null;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly probe: Pick<QueueCountsReader, 'backlog' | 'snapshot'>,
    private readonly clock: Clock,
    windowMs: number,
    /** Live instances (this one included) per queue, from the fleet registry; absent: this one alone. */
    private readonly listeners?: () => ReadonlyMap<string, number>,
    private readonly hostCpu: Pick<HostCpu, 'read'> = new HostCpu(),
    /** How long a worker waited, runnable, for a CPU since it started; undefined where unknown. */
    private readonly readSched: (w: WorkerProcess) => { waitMs: number } | undefined = (w) => (w.pid === undefined ? undefined : schedTimes(w.pid)),
  ) {
    this.startedAt = clock.now();
    this.tracker = new DemandTracker(windowMs);
    this.waits = new WaitWindow(windowMs);
    supervisor.on('worker-message', (w, msg) => {
      if (msg.type !== 'sample') return;
      for (const q of msg.jobs ?? []) {
        this.finished += q.completed + q.failed;
        this.finishedBusyMs += q.ranCompleted.sumMs + q.ranFailed.sumMs;
        // Each wait the sample carries stands for started / length of the jobs that started.
        const kept = q.waitSampleMs ?? [];
        for (const ms of kept) this.waits.record(this.clock.now(), ms, q.started / kept.length);
      }
      if (msg.cpu) {
        // The first sample is the baseline: the CPU a child spent loading is not its jobs'.
        const us = msg.cpu.user + msg.cpu.system;
        const prev = this.cpuSeen.get(w.key);
        if (prev !== undefined) this.poolCpuUs += Math.max(0, us - prev);
        this.cpuSeen.set(w.key, us);
      }
    });
    supervisor.on('worker-exit', (e) => {
      this.cpuSeen.delete(e.worker.key);
      this.waitSeen.delete(e.worker.key);
    });
  }

  async refresh(): Promise<void> {
    await this.readBacklog();
    const now = this.clock.now();
    const running = this.supervisor.workers().reduce((n, w) => n + w.busySlots, 0);
    this.tracker.observe({ at: now, backlog: this.backlog, running, finished: this.finished, finishedBusyMs: this.finishedBusyMs });
    this.cpu = this.hostCpu.read();
    const runWaitMs = this.runQueueWaitMs();
    const last = this.lastRefresh;
    if (last && now > last.at) {
      const busyMs = this.supervisor.usage.totals(now, last.at).busyMs;
      this.jobCpuShare = cpuBoundShare((this.poolCpuUs - last.poolCpuUs) / 1000, busyMs, this.cpu.cores, now - last.at, runWaitMs);
    }
    this.lastRefresh = { at: now, poolCpuUs: this.poolCpuUs };
  }

  /**
   * For an early decision: the backlog, and how CPU-bound the jobs were since the last refresh (the
   * CPU guard holds early steps of CPU-bound jobs). Commits nothing: the next periodic refresh
   * measures its whole period as if this had not happened.
   */
  async refreshBacklog(): Promise<void> {
    await this.readBacklog();
    const now = this.clock.now();
    const from = this.lastRefresh ?? { at: this.startedAt, poolCpuUs: 0 };
    this.cpu ??= this.hostCpu.read(); // the first reading: the cores, and the baseline of the first period
    if (now > from.at) this.jobCpuShare = cpuBoundShare((this.poolCpuUs - from.poolCpuUs) / 1000, this.supervisor.usage.totals(now, from.at).busyMs, this.cpu.cores, now - from.at);
  }

  private async readBacklog(): Promise<void> {
    try {
      const b = await withTimeout(this.shareOfBacklog(), PROBE_TIMEOUT_MS);
      this.backlog = b.waiting;
      this.oldestWaitMs = b.oldestWaitMs;
    } catch {
      // Redis unreachable: decide on utilization alone this time.
      this.backlog = null;
      this.oldestWaitMs = null;
    }
  }

  /** The live workers' time waiting runnable for a CPU since the last refresh; undefined where unknown. */
  private runQueueWaitMs(): number | undefined {
    let total = 0;
    let known = true;
    for (const w of this.supervisor.workers()) {
      if (w.state !== 'running' && w.state !== 'draining') continue;
      const t = this.readSched(w);
      if (!t) {
        known = false;
        continue;
      }
      const prev = this.waitSeen.get(w.key);
      if (prev !== undefined) total += Math.max(0, t.waitMs - prev);
      this.waitSeen.set(w.key, t.waitMs);
    }
    return known ? total : undefined;
  }

  /** The pool's backlog, each queue's divided by the instances that listen to it (rounded up). */
  private async shareOfBacklog(): Promise<{ waiting: number; oldestWaitMs: number | null }> {
    const listeners = this.listeners?.();
    if (!listeners || listeners.size === 0) return this.probe.backlog();
    const snap = await this.probe.snapshot();
    let waiting = 0;
    let oldest = 0;
    for (const [queue, s] of Object.entries(snap)) {
      const n = s.counts.waiting + s.counts.prioritized;
      waiting += Math.ceil(n / Math.max(1, listeners.get(queue) ?? 1));
      if (n > 0) oldest = Math.max(oldest, s.oldestAgeSeconds);
    }
    return { waiting, oldestWaitMs: waiting > 0 ? oldest * 1000 : null };
  }

  signals(): Partial<ScaleSnapshot> {
    const live = this.supervisor.workers().filter((w) => w.state === 'running' || w.state === 'draining');
    const measured = live.filter((w) => w.rssBytes > 0);
    const poolMb = measured.reduce((n, w) => n + w.rssBytes, 0) / 1048576;
    const now = this.clock.now();
    return {
      concurrency: this.supervisor.settings.concurrency,
      busySlots: this.supervisor.usage.totals(now).busyMs / this.supervisor.usage.window,
      backlog: this.backlog,
      oldestWaitMs: this.oldestWaitMs,
      ...this.tracker.rates(),
      workerMemoryMb: measured.length > 0 ? poolMb / measured.length : null,
      poolMemoryMb: measured.length > 0 ? (poolMb / measured.length) * live.length : null,
      finishedJobs: this.finished,
      waitP95Ms: this.waits.quantile(now, 0.95),
      hostCores: this.cpu?.cores ?? null,
      hostCpuBusy: this.cpu?.busy ?? null,
      jobCpuShare: this.jobCpuShare,
    };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e)));
  });
}
