/**
 * `worker-pool cancel --queue Q JOB_ID`: abort the signal of a running job, wherever it runs (any
 * pool on this Redis and prefix), as BullMQ's `worker.cancelJob(id)` does inside one Worker.
 */
import type { RedisTarget } from '../redis/connection.js';
import { Queue } from 'bullmq';
import { cancelJob } from '../redis/cancel-channel.js';
import { CliError, EXIT } from './exit-codes.js';
import { connectOrFail } from './redis-check.js';

export interface CancelOptions {
  redisUrl: string;
  /** Where Redis is in every mode (Sentinel, Cluster); `redisUrl` when absent. */
  redis?: RedisTarget;
  prefix: string;
  queue: string;
  id: string;
  reason?: string;
}

export async function runCancel(o: CancelOptions, out: (line: string) => void = console.log): Promise<number> {
  if (o.id.trim() === '') throw new CliError('JOB_ID: empty; give the id of a running job', EXIT.USAGE);
  const client = await connectOrFail(o.redis ?? o.redisUrl, 'worker-pool:cancel');
  const queue = new Queue(o.queue, { connection: client, prefix: o.prefix });
  try {
    const r = await cancelJob(queue, o.id, o.reason);
    if (r.state === 'unknown') {
      out(`job ${o.id} of queue ${o.queue}: no such job (prefix ${o.prefix})`);
      return EXIT.CANCEL_NOT_SENT;
    }
    if (r.state !== 'active') {
      out(`job ${o.id} of queue ${o.queue} is ${r.state}, not running; only a running job can be cancelled (remove a waiting one with BullMQ's job.remove())`);
      return EXIT.CANCEL_NOT_SENT;
    }
    if (r.listeners === 0) {
      out(`job ${o.id} of queue ${o.queue} is running, but no worker-pool worker listens on this Redis and prefix (a plain BullMQ Worker runs it?)`);
      return EXIT.CANCEL_NOT_SENT;
    }
    out(`job ${o.id} of queue ${o.queue}: cancel sent to ${r.listeners} worker(s); the one running it aborts its signal (a processor declared without the signal parameter, or that ignores it, runs to its end or its time limit)`);
    return EXIT.OK;
  } finally {
    await queue.close();
    client.disconnect();
  }
}
