/**
 * PoolDemand: what the control loop tells a policy besides utilization — the backlog and the oldest
 * job's age (read from Redis before each tick), arrival and completion rates and mean job time
 * (a DemandTracker fed by the workers' job-end messages), and the workers' memory. In a fleet, a
 * queue's backlog is divided by the live instances listening to it, so N hosts do not each add
 * workers for the whole of it.
 */
import type { Clock } from '../clock.js';
import type { QueueProbe } from '../observe/queue-probe.js';
import { DemandTracker } from '../policy/demand.js';
import type { ScaleSnapshot } from '../policy/types.js';
import type { DemandSource } from './control-loop.js';
import type { Supervisor } from './supervisor.js';

const PROBE_TIMEOUT_MS = 1000;

export class PoolDemand implements DemandSource {
  private readonly tracker: DemandTracker;
  private finished = 0;
  private finishedBusyMs = 0;
  private backlog: number | null = null;
  private oldestWaitMs: number | null = null;

  constructor(
    private readonly supervisor: Supervisor,
    private readonly probe: Pick<QueueProbe, 'backlog' | 'snapshot'>,
    private readonly clock: Clock,
    windowMs: number,
    /** Live instances (this one included) per queue, from the fleet registry; absent: this one alone. */
    private readonly listeners?: () => ReadonlyMap<string, number>,
  ) {
    this.tracker = new DemandTracker(windowMs);
    supervisor.on('worker-message', (_w, msg) => {
      if (msg.type !== 'job-end') return;
      this.finished++;
      this.finishedBusyMs += msg.durationMs;
    });
  }

  async refresh(): Promise<void> {
    try {
      const b = await withTimeout(this.shareOfBacklog(), PROBE_TIMEOUT_MS);
      this.backlog = b.waiting;
      this.oldestWaitMs = b.oldestWaitMs;
    } catch {
      // Redis unreachable: decide on utilization alone this time.
      this.backlog = null;
      this.oldestWaitMs = null;
    }
    const running = this.supervisor.workers().reduce((n, w) => n + w.jobs.size, 0);
    this.tracker.observe({ at: this.clock.now(), backlog: this.backlog, running, finished: this.finished, finishedBusyMs: this.finishedBusyMs });
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
    return {
      concurrency: this.supervisor.settings.concurrency,
      busySlots: this.supervisor.usage.totals(this.clock.now()).busyMs / this.supervisor.usage.window,
      backlog: this.backlog,
      oldestWaitMs: this.oldestWaitMs,
      ...this.tracker.rates(),
      workerMemoryMb: measured.length > 0 ? poolMb / measured.length : null,
      poolMemoryMb: measured.length > 0 ? (poolMb / measured.length) * live.length : null,
    };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then((v) => (clearTimeout(t), resolve(v)), (e: unknown) => (clearTimeout(t), reject(e)));
  });
}
