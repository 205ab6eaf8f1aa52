/**
 * BullMQ Queue objects opened on demand on one shared connection (the supervisor's), each once, all
 * closed together: for queues that are not this pool's (a dead peer's jobs go back to whichever
 * queues it served) and for the global concurrency of the pool's limited queues.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export class QueueHandles {
  private readonly open = new Map<string, Queue>();

  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  get(name: string): Queue {
    let q = this.open.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.client, prefix: this.prefix });
      q.on('error', () => undefined); // every caller awaits its commands and handles their errors
      this.open.set(name, q);
    }
    return q;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.open.values()].map((q) => q.close()));
  }
}
