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

  constructor(redisUrl: string, private readonly prefix: string, queueNames: readonly string[], name: string) {
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

  /** Watch these queues from now on (a reload changed the pool's queues). */
  async setQueues(names: readonly string[]): Promise<void> {
    const gone = [...this.queues.keys()].filter((n) => !names.includes(n));
    for (const n of gone) {
      const q = this.queues.get(n)!;
      this.queues.delete(n);
      await q.close().catch(() => undefined);
    }
    for (const n of names) {
      if (this.queues.has(n)) continue;
      const q = new Queue(n, { connection: this.client, prefix: this.prefix });
      q.on('error', () => undefined);
      this.queues.set(n, q);
    }
  }

  queue(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.client.disconnect();
  }
}
