/**
 * The Redis side of handing jobs back: finding the active jobs locked with a token (or a token
 * base), and moving one back to waiting only while its lock still carries that token (its stall
 * counted, or failed for good once it has lost its worker more than max-stalled-count times).
 */
import { Job, UnrecoverableError, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import { withTimeout } from '../timing.js';
import type { HeldJob } from './worker-process.js';

/**
 * Raise the stall count only while the dead child's token still holds the lock (atomic). Its keys
 * are all in KEYS and share the queue's slot, as Redis Cluster requires.
 */
const COUNT_IF_STILL_OURS = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
return redis.call('HINCRBY', KEYS[1], 'stc', 1)
`;

/** Lock keys read per round trip when looking for a child's jobs. */
const LOCK_BATCH = 500;

/**
 * How many of a queue's newest active jobs are read to find those a child took after its last
 * sample (a sample follows every job start within 20 ms, so these are the jobs of its last instant):
 * the cost of a hand-back does not grow with the active jobs of other workers, pools or hosts.
 */
export const RECENT_ACTIVE = 1000;

export type HandBackOutcome =
  /** Back in waiting; `ms` from the child's death (or from a dead host's lease running out: `how` 'host'). */
  | { kind: 'returned'; job: HeldJob; ms: number; deaths: number; how?: 'host' }
  /** Died with its worker too often: failed with a reason. */
  | { kind: 'failed'; job: HeldJob; deaths: number; reason: string }
  /** Completed, failed, removed or re-taken meanwhile: nothing to do. */
  | { kind: 'not-ours'; job: HeldJob }
  /** Redis refused or was unreachable: the stalled check will recover it. */
  | { kind: 'error'; job: HeldJob; error: string };

export interface LockedJobsOptions {
  client: Redis;
  prefix: string;
  queue: (name: string) => Queue | undefined;
  maxStalledCount: number;
  clock: Clock;
  /** Give up on one command after this long (Redis unreachable). */
  timeoutMs?: number;
}

export class LockedJobs {
  constructor(private readonly opts: LockedJobsOptions) {}

  /**
   * The active jobs of `queue` whose lock token passes `mine`, with their tokens: the active list
   * (its first `limit` entries, the newest, when given), then the locks of its jobs (MGET, in
   * batches). Not one script: a script must name every key it touches in KEYS (Redis Cluster), and
   * the lock keys are known only from the list. Not atomic, and need not be: the jobs looked for
   * are those of a dead child or of a fetch that has ended, so none of them enters the active list
   * after it is read, and each one found is checked again atomically (COUNT_IF_STILL_OURS,
   * BullMQ's token check) before it is moved.
   */
  async find(queue: string, mine: (lock: string) => boolean, limit?: number): Promise<Array<{ id: string; token: string }>> {
    const base = `${this.opts.prefix}:${queue}:`;
    const ids = await this.bounded(this.opts.client.lrange(`${base}active`, 0, limit === undefined ? -1 : limit - 1));
    const out: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < ids.length; i += LOCK_BATCH) {
      const batch = ids.slice(i, i + LOCK_BATCH);
      const locks = await this.bounded(this.opts.client.mget(...batch.map((id) => `${base}${id}:lock`)));
      batch.forEach((id, k) => {
        const lock = locks[k];
        if (lock && mine(lock)) out.push({ id, token: lock });
      });
    }
    return out;
  }

  async returnOne(held: HeldJob, diedAt: number, countStall = true): Promise<HandBackOutcome> {
    const queue = this.opts.queue(held.queue);
    if (!queue) return { kind: 'error', job: held, error: `queue ${held.queue} is not one of this pool's` };
    const jobKey = `${this.opts.prefix}:${held.queue}:${held.id}`;
    const deaths = countStall ? Number(await this.bounded(this.opts.client.eval(COUNT_IF_STILL_OURS, 2, jobKey, `${jobKey}:lock`, held.token))) : 0;
    if (deaths < 0) return { kind: 'not-ours', job: held };
    const job = await this.bounded(Job.fromId(queue, held.id));
    if (!job) return { kind: 'not-ours', job: held };
    if (deaths > this.opts.maxStalledCount) {
      const reason = `its worker died ${deaths} times while running it (max-stalled-count ${this.opts.maxStalledCount})`;
      await this.bounded(job.moveToFailed(new UnrecoverableError(reason), held.token, false));
      return { kind: 'failed', job: held, deaths, reason };
    }
    try {
      await this.bounded(job.moveToWait(held.token));
    } catch (err) {
      // The lock moved on between the count and the move (it expired and another worker took it).
      if (/lock/i.test((err as Error).message)) return { kind: 'not-ours', job: held };
      throw err;
    }
    return { kind: 'returned', job: held, ms: this.opts.clock.now() - diedAt, deaths };
  }

  private bounded<T>(p: Promise<T>): Promise<T> {
    const ms = this.opts.timeoutMs ?? 5000;
    return withTimeout(p, ms, `Redis did not answer within ${ms} ms`);
  }
}
