/**
 * A simulated child's jobs since its last sample, per queue, in the form its samples carry them
 * (QueueJobStats: started, completed, their wait and run times in buckets, up to WAIT_SAMPLE_SIZE
 * waits drawn uniformly): what the real PoolDemand feeds its rates and wait percentile from.
 */
import { emptyBuckets, observeMs, WAIT_SAMPLE_SIZE, type QueueJobStats } from '../ipc/job-stats.js';
import { Random } from './random.js';

export class JobTally {
  private byQueue = new Map<string, QueueJobStats>();
  /** Seeded: the same trace draws the same waits. */
  private readonly random: Random;

  constructor(seed: number) {
    this.random = new Random(seed);
  }

  started(queue: string, waitMs: number): void {
    const s = this.of(queue);
    s.started++;
    observeMs(s.wait, waitMs);
    const kept = s.waitSampleMs!;
    if (kept.length < WAIT_SAMPLE_SIZE) kept.push(waitMs);
    else {
      const i = Math.floor(this.random.next() * s.started);
      if (i < WAIT_SAMPLE_SIZE) kept[i] = waitMs;
    }
  }

  completed(queue: string, ranMs: number): void {
    const s = this.of(queue);
    s.completed++;
    observeMs(s.ranCompleted, ranMs);
  }

  /** What happened since the last call (queues that had anything), and start afresh. */
  take(): QueueJobStats[] {
    const out = [...this.byQueue.values()];
    if (out.length > 0) this.byQueue = new Map();
    return out;
  }

  private of(queue: string): QueueJobStats {
    let s = this.byQueue.get(queue);
    if (!s) {
      s = { queue, started: 0, completed: 0, failed: 0, wait: emptyBuckets(), ranCompleted: emptyBuckets(), ranFailed: emptyBuckets(), waitSampleMs: [] };
      this.byQueue.set(queue, s);
    }
    return s;
  }
}
