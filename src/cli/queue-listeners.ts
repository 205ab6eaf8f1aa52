/**
 * Whether anything on this Redis takes jobs from a queue, for `enqueue`'s warning about a queue
 * nobody listens to (a typo in --queue is otherwise silent: the jobs just wait). What tells today:
 *  - BullMQ's stalled-job check: every Worker, plain BullMQ or a worker-pool child, sets
 *    PREFIX:QUEUE:stalled-check each stalled interval, expiring after one, so while any worker
 *    listens to the queue the key is there (a worker that started this instant may not have set it yet).
 *  - BullMQ's worker list (Queue.getWorkers: connections named by Worker.run()).
 * A fleet registry (which instance listens to which queues) answers more exactly: pass it as one
 * more `ListenerSource`; the first source that answers true or false decides.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { discoverQueues } from '../migration/migrate.js';
import { closest } from '../suggest.js';

/** true: something listens; false: nothing does (authoritative); undefined: this source cannot tell. */
export type ListenerSource = (queue: string) => Promise<boolean | undefined>;

export async function someoneListens(client: Redis, queue: Queue, sources: readonly ListenerSource[] = []): Promise<boolean> {
  for (const source of sources) {
    const said = await source(queue.name);
    if (said !== undefined) return said;
  }
  if ((await client.exists(`${queue.opts.prefix ?? 'bull'}:${queue.name}:stalled-check`)) === 1) return true;
  return (await queue.getWorkersCount().catch(() => 0)) > 0;
}

/** The warning for a queue nobody listens to, naming a close existing queue if there is one. */
export async function unlistenedWarning(client: Redis, prefix: string, queue: string): Promise<string> {
  const known = (await discoverQueues(client, prefix)).filter((q) => q !== queue);
  const guess = closest(queue, known);
  return (
    `warning: no worker listens to queue "${queue}" on this Redis (prefix ${prefix}); the jobs wait until one does` +
    (guess ? ` (did you mean --queue ${guess}?)` : known.length ? ` (queues here: ${known.slice(0, 8).join(', ')}${known.length > 8 ? ', …' : ''})` : '')
  );
}
