/**
 * Keeps BullMQ's global concurrency of the pool's limited queues in Redis: the most jobs of a
 * queue that may be active at once across every worker of every pool sharing the Redis
 * (1 makes a serial queue). BullMQ enforces it when a worker moves a job to active; this class
 * only makes sure the value is there, and puts it back if Redis lost it or another pool changed it.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export type Limits = Readonly<Record<string, number>>;

export class GlobalConcurrency {
  private readonly queues = new Map<string, Queue>();
  private limits: Limits = {};

  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
    private readonly log: Logger,
  ) {}

  get current(): Limits {
    return this.limits;
  }

  private queue(name: string): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.client, prefix: this.prefix });
      q.on('error', () => undefined);
      this.queues.set(name, q);
    }
    return q;
  }

  /** Make Redis hold `limits`; a queue this pool limited before and no longer does loses its limit. */
  async apply(limits: Limits): Promise<void> {
    const dropped = Object.keys(this.limits).filter((q) => !Object.hasOwn(limits, q));
    this.limits = { ...limits };
    for (const name of dropped) {
      await this.queue(name).removeGlobalConcurrency();
      this.log.info({ queue: name }, 'global concurrency removed');
    }
    await this.check();
  }

  /** Set every limit Redis does not hold as configured (first start, Redis data lost, another pool). */
  async check(): Promise<void> {
    for (const [name, limit] of Object.entries(this.limits)) {
      const q = this.queue(name);
      const found = await q.getGlobalConcurrency();
      if (found === limit) continue;
      await q.setGlobalConcurrency(limit);
      if (found === null) this.log.info({ queue: name, globalConcurrency: limit }, 'global concurrency set');
      else {
        this.log.warn(
          { queue: name, globalConcurrency: limit, found },
          'global concurrency in Redis differed (another pool configured with a different limit?); set it back',
        );
      }
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
  }
}
