/** `worker-pool enqueue`: add jobs to a queue, in bulk or at a steady rate, with progress on a terminal. */
import { Queue, type JobsOptions } from 'bullmq';
import type { RedisTarget } from '../redis/connection.js';
import { CliError, EXIT } from './exit-codes.js';
import { connectOrFail } from './redis-check.js';
import { formatRate, Progress } from './progress.js';
import { someoneListens, unlistenedWarning, type ListenerSource } from './queue-listeners.js';

export interface EnqueueOptions {
  redis: RedisTarget;
  prefix: string;
  queue: string;
  name: string;
  data: string;
  count: number;
  /** Jobs per second; bulk when undefined. */
  rate?: number;
  delaySeconds?: number;
  attempts?: number;
  /** More exact answers to "does any pool listen to this queue?" (a fleet registry). */
  listenerSources?: readonly ListenerSource[];
}

const BULK_CHUNK = 1000;

export function parseJobData(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new CliError(`--data: ${JSON.stringify(text)} is not valid JSON (${(err as Error).message})`, EXIT.DATAERR);
  }
}

export async function runEnqueue(o: EnqueueOptions, out: (line: string) => void = console.log, warn: (line: string) => void = console.error): Promise<number> {
  const data = parseJobData(o.data);
  const client = await connectOrFail(o.redis, 'worker-pool:enqueue');
  const queue = new Queue(o.queue, { connection: client, prefix: o.prefix });
  const opts: JobsOptions = {};
  if (o.delaySeconds) opts.delay = Math.round(o.delaySeconds * 1000);
  if (o.attempts) opts.attempts = o.attempts;
  // A typo in --queue would otherwise pass silently: the jobs are added and wait for nobody.
  if (!(await someoneListens(client, queue, o.listenerSources))) warn(`worker-pool: ${await unlistenedWarning(client, o.prefix, o.queue)}`);
  const progress = new Progress(`enqueue ${o.queue}`, o.count, process.stderr, o.rate);
  let done = 0;
  try {
    if (o.rate === undefined) {
      while (done < o.count) {
        const n = Math.min(BULK_CHUNK, o.count - done);
        await queue.addBulk(Array.from({ length: n }, () => ({ name: o.name, data, opts })));
        done += n;
        progress.update(done);
      }
    } else {
      const intervalMs = 1000 / o.rate;
      const t0 = performance.now();
      while (done < o.count) {
        const due = t0 + done * intervalMs;
        const wait = due - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        await queue.add(o.name, data, opts);
        done++;
        progress.update(done);
      }
    }
  } finally {
    const secs = progress.finish(done);
    out(`enqueued ${done} job${done === 1 ? '' : 's'} named "${o.name}" to queue "${o.queue}" in ${secs.toFixed(2)} s (${secs > 0 ? formatRate(done / secs) : `${done}/s`})`);
    await queue.close();
    client.disconnect();
  }
  return EXIT.OK;
}
