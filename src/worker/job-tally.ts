/**
 * The jobs a worker child started and ended since its last sample, per queue: counted here as
 * they happen (a few additions per job), sent with the next sample, then started afresh.
 */
import { WAIT_SAMPLE_SIZE, emptyBuckets, observeMs, type QueueJobStats } from '../ipc/job-stats.js';

export class JobTally {
  private pending = new Map<string, QueueJobStats>();

  private of(queue: string): QueueJobStats {
    let s = this.pending.get(queue);
    if (!s) {
      s = { queue, started: 0, completed: 0, failed: 0, wait: emptyBuckets(), ranCompleted: emptyBuckets(), ranFailed: emptyBuckets(), waitSampleMs: [] };
      this.pending.set(queue, s);
    }
    return s;
  }

  /** `random` in [0, 1): injected for tests; Math.random by default. */
  constructor(private readonly random: () => number = Math.random) {}

  started(queue: string, waitMs: number): void {
    const s = this.of(queue);
    s.started++;
    observeMs(s.wait, waitMs);
    // Reservoir sampling: every job started since the last sample is equally likely to be kept.
    const sample = s.waitSampleMs!;
    if (sample.length < WAIT_SAMPLE_SIZE) sample.push(waitMs);
    else {
      const i = Math.floor(this.random() * s.started);
      if (i < WAIT_SAMPLE_SIZE) sample[i] = waitMs;
    }
  }

  ended(queue: string, status: 'completed' | 'failed' | 'moved' | 'lost', ranMs: number): void {
    const s = this.of(queue);
    if (status === 'moved') s.moved = (s.moved ?? 0) + 1;
    else if (status === 'lost') s.lost = (s.lost ?? 0) + 1;
    else if (status === 'completed') {
      s.completed++;
      observeMs(s.ranCompleted, ranMs);
    } else {
      s.failed++;
      observeMs(s.ranFailed, ranMs);
    }
  }

  /** What was counted since the last call (undefined: nothing), and start counting afresh. */
  take(): QueueJobStats[] | undefined {
    if (this.pending.size === 0) return undefined;
    const out = [...this.pending.values()];
    this.pending = new Map();
    return out;
  }
}
