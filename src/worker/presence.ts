/**
 * Names a worker child's connections as BullMQ's Worker names its own, so that `Queue.getWorkers()`
 * (and bull-board's worker list at /jobs) lists the child on each of its queues. BullMQ finds a
 * queue's workers by connection name in CLIENT LIST: `PREFIX:base64(QUEUE):w:NAME`. One connection
 * has one name, so the child's main connection carries its first queue's, and each further queue
 * gets an idle connection of its own that only carries a name (at most MAX_NAMED_QUEUES in all).
 */
import type { Redis } from 'ioredis';

/** Queues per child that get a name BullMQ lists; the rest are served but not listed. */
export const MAX_NAMED_QUEUES = 32;

/** The worker name after `:w:`: pool and worker, as the rest of worker-pool's connection names say. */
export function workerName(pool: string, workerId: string): string {
  return `worker-pool:${pool}:${workerId}`;
}

/**
 * The connection name by which BullMQ lists a worker of `queue` (as `QueueBase.clientName()` +
 * `:w:` + the worker's name); undefined when Redis would refuse it (CLIENT SETNAME takes no spaces).
 */
export function bullmqWorkerClientName(prefix: string, queue: string, name: string): string | undefined {
  const full = `${prefix}:${Buffer.from(queue).toString('base64')}:w:${name}`;
  return /\s/.test(full) ? undefined : full;
}

/** The idle, named connections of the child's queues after the first; closed with the child. */
export class QueuePresence {
  private readonly conns: Redis[] = [];

  constructor(prefix: string, queues: readonly string[], name: string, connect: (connectionName: string) => Redis) {
    for (const queue of queues.slice(1, MAX_NAMED_QUEUES)) {
      const connectionName = bullmqWorkerClientName(prefix, queue, name);
      if (!connectionName) continue;
      const conn = connect(connectionName);
      // Nothing is sent on it: a lost connection only means the board misses the worker until it is back.
      conn.on('error', () => undefined);
      this.conns.push(conn);
    }
  }

  get connections(): number {
    return this.conns.length;
  }

  close(): void {
    for (const c of this.conns) c.disconnect();
    this.conns.length = 0;
  }
}
