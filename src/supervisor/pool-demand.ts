/**
 * PoolDemand: what the control loop tells a policy besides utilization — the backlog and the oldest
 * job's age (read from Redis before each tick), arrival and completion rates and mean job time
 * (a DemandTracker fed by the job counts in the workers' samples), and the workers' memory.
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
    private readonly probe: Pick<QueueProbe, 'backlog'>,
    private readonly clock: Clock,
    windowMs: number,
  ) {
    this.tracker = new DemandTracker(windowMs);
    supervisor.on('worker-message', (_w, msg) => {
      if (msg.type !== 'sample' || !msg.jobs) return;
      for (const q of msg.jobs) {
        this.finished += q.completed + q.failed;
        this.finishedBusyMs += q.ranCompleted.sumMs + q.ranFailed.sumMs;
      }
    });
  }

  async refresh(): Promise<void> {
    try {
      const b = await withTimeout(this.probe.backlog(), PROBE_TIMEOUT_MS);
      this.backlog = b.waiting;
      this.oldestWaitMs = b.oldestWaitMs;
    } catch {
      // Redis unreachable: decide on utilization alone this time.
      this.backlog = null;
      this.oldestWaitMs = null;
    }
    const running = this.supervisor.workers().reduce((n, w) => n + w.busySlots, 0);
    this.tracker.observe({ at: this.clock.now(), backlog: this.backlog, running, finished: this.finished, finishedBusyMs: this.finishedBusyMs });
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
