/** The supervisor's own view of Redis: is it reachable, and how many jobs wait in each queue. */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { connect } from '../redis/connection.js';

export const COUNT_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'completed', 'failed'] as const;
export type QueueCounts = Record<(typeof COUNT_STATES)[number], number>;

export class QueueProbe {
  readonly client: Redis;
  private readonly queues: Map<string, Queue>;
  redisUp = false;

  constructor(redisUrl: string, prefix: string, queueNames: readonly string[], name: string) {
    this.client = connect(redisUrl, { connectionName: `worker-pool:${name}:supervisor`, failFast: true });
    this.client.on('error', () => undefined);
    this.client.on('ready', () => (this.redisUp = true));
    this.client.on('close', () => (this.redisUp = false));
    this.queues = new Map(queueNames.map((q) => [q, new Queue(q, { connection: this.client, prefix })]));
    for (const q of this.queues.values()) q.on('error', () => undefined);
  }

  async ping(timeoutMs = 1000): Promise<boolean> {
    try {
      const pong = await Promise.race([this.client.ping(), new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timeout')), timeoutMs).unref())]);
      this.redisUp = pong === 'PONG';
    } catch {
      this.redisUp = false;
    }
    return this.redisUp;
  }

  async counts(): Promise<Record<string, QueueCounts>> {
    const out: Record<string, QueueCounts> = {};
    await Promise.all(
      [...this.queues].map(async ([name, q]) => {
        out[name] = (await q.getJobCounts(...COUNT_STATES)) as QueueCounts;
      }),
    );
    return out;
  }

  /** Jobs waiting (and prioritized) across the queues, and the age of the oldest waiting one. */
  async backlog(): Promise<{ waiting: number; oldestWaitMs: number | null }> {
    let waiting = 0;
    let oldest = Infinity;
    await Promise.all(
      [...this.queues.values()].map(async (q) => {
        const counts = await q.getJobCounts('waiting', 'prioritized');
        waiting += (counts['waiting'] ?? 0) + (counts['prioritized'] ?? 0);
        if ((counts['waiting'] ?? 0) > 0) {
          const [job] = await q.getJobs(['wait'], 0, 0, true);
          if (job) oldest = Math.min(oldest, job.timestamp);
        }
      }),
    );
    return { waiting, oldestWaitMs: Number.isFinite(oldest) ? Math.max(0, Date.now() - oldest) : null };
  }

  queue(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.client.disconnect();
  }
}
