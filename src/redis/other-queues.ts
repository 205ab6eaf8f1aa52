/**
 * Queues that are not this pool's, opened on demand on the supervisor's connection: a dead peer's
 * jobs are handed back to whichever queues it served.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export class OtherQueues {
  private readonly open = new Map<string, Queue>();

  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  get(name: string): Queue {
    let q = this.open.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.client, prefix: this.prefix });
      q.on('error', () => undefined);
      this.open.set(name, q);
    }
    return q;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.open.values()].map((q) => q.close()));
  }
}
