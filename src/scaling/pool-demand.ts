/**
 * PoolDemand: what the control loop tells a policy besides utilization — the backlog and the oldest
 * job's age (read from Redis before each tick), arrival and completion rates and mean job time
 * (a DemandTracker fed by the job counts in the workers' samples), the p95 wait of jobs that started
 * in the window (the waits the samples carry), the workers' and the supervisor's memory against the cgroup's
 * memory limit (for the memory guard), and for the CPU-saturation guard the host's CPU use and how
 * CPU-bound the jobs were over the last period (the children's CPU time and wait for a CPU against
 * their busy time, per child between its own samples: job-cpu-meter.ts). In a fleet, a queue's
 * backlog is divided by the live instances listening to it, so N hosts do not each add workers for
 * the whole of it.
 */
import os from 'node:os';
import type { Clock } from '../clock.js';
import type { QueueCountsReader } from '../redis/queue-counts.js';
import { DemandTracker } from '../policy/demand.js';
import type { MemorySnapshot, ScaleSnapshot } from '../policy/types.js';
import { WaitWindow } from '../policy/wait-window.js';
import type { DemandSource } from './control-loop.js';
import { Cgroup } from './cgroup.js';
import { HostCpu, schedTimes, type CpuReading } from './host-cpu.js';
import { JobCpuMeter } from './job-cpu-meter.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import { withTimeout } from '../timing.js';
import type { WorkerProcess } from '../supervisor/worker-process.js';

const PROBE_TIMEOUT_MS = 1000;
const MiB = 1024 * 1024;

/** The memory a pool lives in: its cgroup's limit and the supervisor's own resident memory (bytes). */
export interface HostMemory {
  limitBytes(): number | undefined;
  supervisorRssBytes(): number;
}

/** This process's: the limit of its memory cgroup (none when at or above the machine's memory), its rss. */
export function processMemory(cgroup = Cgroup.ofProcess()): HostMemory {
  return {
    limitBytes: () => {
      const limit = cgroup.memoryLimitBytes();
      return limit !== undefined && limit < os.totalmem() ? limit : undefined;
    },
    supervisorRssBytes: () => process.memoryUsage.rss(),
  };
}

export class PoolDemand implements DemandSource {
  private readonly tracker: DemandTracker;
  private readonly waits: WaitWindow;
  private finished = 0;
  private finishedBusyMs = 0;
  private backlog: number | null = null;
  private oldestWaitMs: number | null = null;
  /** How CPU-bound the jobs were: each worker's CPU, busy and run-queue wait between its own samples. */
  private readonly jobCpu: JobCpuMeter<WorkerProcess>;
  /** When the last two periodic refreshes were (an early decision looks back over a whole period). */
  private lastRefreshAt: number | undefined;
  private refreshBeforeAt: number | undefined;
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
    readSched: (w: WorkerProcess) => { waitMs: number } | undefined = (w) => (w.pid === undefined ? undefined : schedTimes(w.pid)),
    private readonly hostMemory: HostMemory = processMemory(),
  ) {
    this.startedAt = clock.now();
    this.tracker = new DemandTracker(windowMs);
    this.jobCpu = new JobCpuMeter({ keepMs: 2 * windowMs, minGapMs: supervisor.settings.sampleIntervalMs / 2, readWait: (w) => readSched(w)?.waitMs });
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
      this.jobCpu.sample(w.key, w, msg, this.clock.now());
    });
    supervisor.on('worker-exit', (e) => this.jobCpu.forget(e.worker.key));
  }

  async refresh(): Promise<void> {
    await this.readBacklog();
    const now = this.clock.now();
    const running = this.supervisor.workers().reduce((n, w) => n + w.busySlots, 0);
    this.tracker.observe({ at: now, backlog: this.backlog, running, finished: this.finished, finishedBusyMs: this.finishedBusyMs });
    this.cpu = this.hostCpu.read();
    if (this.lastRefreshAt !== undefined && now > this.lastRefreshAt) this.jobCpuShare = this.jobCpu.shareSince(this.lastRefreshAt, now, this.cpu.cores);
    this.refreshBeforeAt = this.lastRefreshAt;
    this.lastRefreshAt = now;
  }

  /**
   * For an early decision: the backlog, and how CPU-bound the jobs were over the last whole period
   * and since (the CPU guard holds early steps of CPU-bound jobs), measured as at a periodic
   * decision: a span of a few samples just after a period would be noise. Commits nothing: the next
   * periodic refresh measures its period as if this had not happened.
   */
  async refreshBacklog(): Promise<void> {
    await this.readBacklog();
    const now = this.clock.now();
    this.cpu ??= this.hostCpu.read(); // the first reading: the cores, and the baseline of the first period
    const from = this.refreshBeforeAt ?? this.lastRefreshAt ?? this.startedAt;
    if (now > from) this.jobCpuShare = this.jobCpu.shareSince(from, now, this.cpu.cores);
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
      memory: this.memory(),
    };
  }

  /** Every live child's memory (a child forked but not sampled yet counts as unmeasured) and the limit. */
  private memory(): MemorySnapshot {
    const alive = this.supervisor.workers().filter((w) => w.alive);
    const measured = alive.filter((w) => w.rssBytes > 0);
    const limit = this.hostMemory.limitBytes();
    return {
      cgroupLimitMb: limit !== undefined ? limit / MiB : null,
      supervisorMb: this.hostMemory.supervisorRssBytes() / MiB,
      workersMb: measured.reduce((n, w) => n + w.rssBytes, 0) / MiB,
      unmeasured: alive.length - measured.length,
      active: alive.filter((w) => w.state !== 'draining').length,
      largestWorkerMb: measured.length > 0 ? Math.max(...measured.map((w) => w.rssBytes)) / MiB : null,
    };
  }
}
