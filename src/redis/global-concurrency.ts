/**
 * Keeps BullMQ's global concurrency of the pool's limited queues in Redis: the most jobs of a
 * queue that may be active at once across every worker of every pool sharing the Redis
 * (1 makes a serial queue). BullMQ enforces it when a worker moves a job to active; this class
 * only makes sure the value is there, and puts it back if Redis lost it or another pool changed it.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { QueueHandles } from './queue-handles.js';

export type Limits = Readonly<Record<string, number>>;

export class GlobalConcurrency {
  private readonly queues: QueueHandles;
  private limits: Limits = {};

  constructor(
    client: Redis,
    prefix: string,
    private readonly log: Logger,
  ) {
    this.queues = new QueueHandles(client, prefix);
  }

  get current(): Limits {
    return this.limits;
  }

  /** Make Redis hold `limits`; a queue this pool limited before and no longer does loses its limit. */
  async apply(limits: Limits): Promise<void> {
    const dropped = Object.keys(this.limits).filter((q) => !Object.hasOwn(limits, q));
    this.limits = { ...limits };
    for (const name of dropped) {
      await this.queues.get(name).removeGlobalConcurrency();
      this.log.info({ queue: name }, 'global concurrency removed');
    }
    await this.check();
  }

  /** Set every limit Redis does not hold as configured (first start, Redis data lost, another pool). */
  async check(): Promise<void> {
    for (const [name, limit] of Object.entries(this.limits)) {
      const q = this.queues.get(name);
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

  close(): Promise<void> {
    return this.queues.close();
  }
}
