/**
 * The job counts and buckets a child gathers between samples, shown by the supervisor's histogram:
 * the same Prometheus text as prom-client's own Histogram fed one observation per job.
 */
import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { JOB_SECONDS_BUCKETS, isQueueJobStats } from '../../src/ipc/job-stats.js';
import { BucketHistogram } from '../../src/observe/bucket-histogram.js';
import { JobTally } from '../../src/worker/job-tally.js';

describe('job stats carried by samples', () => {
  it('a histogram fed from tallies reads exactly as one fed per job, over random runs split into random samples', async () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const perJob = new Registry();
    const sampled = new Registry();
    const reference = new Histogram({ name: 'h_seconds', help: 'h', labelNames: ['queue', 'status'], buckets: [...JOB_SECONDS_BUCKETS], registers: [perJob] });
    const fromTally = new BucketHistogram('h_seconds', 'h', ['queue', 'status'], JOB_SECONDS_BUCKETS, sampled);
    const tally = new JobTally();
    let ended = 0;
    const flush = () => {
      for (const q of tally.take() ?? []) {
        expect(isQueueJobStats(JSON.parse(JSON.stringify(q)))).toBe(true);
        fromTally.add({ queue: q.queue, status: 'completed' }, q.ranCompleted);
        fromTally.add({ queue: q.queue, status: 'failed' }, q.ranFailed);
        ended += q.completed + q.failed;
      }
    };
    for (let i = 0; i < 5000; i++) {
      const queue = `q${Math.floor(rand() * 4)}`;
      const status = rand() < 0.2 ? 'failed' : 'completed';
      // Values on and around the bounds, and past the last one.
      const ms = rand() < 0.3 ? JOB_SECONDS_BUCKETS[Math.floor(rand() * JOB_SECONDS_BUCKETS.length)]! * 1000 : rand() ** 4 * 400_000;
      tally.ended(queue, status, ms);
      reference.observe({ queue, status }, ms / 1000);
      if (rand() < 0.05) flush();
    }
    flush();
    expect(ended).toBe(5000);
    const norm = (t: string) => t.split('\n').map((l) => l.replace(/ ([0-9.e+-]+)$/, (_, v: string) => ` ${Number(v).toPrecision(9)}`)).sort().join('\n');
    expect(norm(await sampled.metrics())).toBe(norm(await perJob.metrics()));
  });

  it('a tally sends only queues that had jobs, and starts afresh after each sample', () => {
    const t = new JobTally();
    expect(t.take()).toBeUndefined();
    t.started('a', 3);
    t.ended('a', 'completed', 12);
    const [a] = t.take()!;
    expect(a).toMatchObject({ queue: 'a', started: 1, completed: 1, failed: 0 });
    expect(a!.wait.counts[0]).toBe(1);
    expect(a!.ranCompleted.counts[2]).toBe(1); // 12 ms: above 0.01 s, within 0.025 s
    expect(t.take()).toBeUndefined();
  });

  it('carries a bounded, uniform sample of the waits: at most 32 per queue per sample, each wait as likely as any', () => {
    let seed = 3;
    const t = new JobTally(() => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31));
    const kept = new Array<number>(1000).fill(0);
    for (let round = 0; round < 400; round++) {
      for (let w = 0; w < 1000; w++) t.started('q', w);
      const [q] = t.take()!;
      expect(q!.started).toBe(1000);
      expect(q!.waitSampleMs).toHaveLength(32);
      for (const w of q!.waitSampleMs!) kept[w]!++;
    }
    // 400 × 32 draws over 1,000 waits: ~12.8 each; the early and the late waits alike.
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(kept.slice(0, 100))).toBeGreaterThan(9);
    expect(mean(kept.slice(0, 100))).toBeLessThan(17);
    expect(mean(kept.slice(900))).toBeGreaterThan(9);
    expect(mean(kept.slice(900))).toBeLessThan(17);
  });
});
