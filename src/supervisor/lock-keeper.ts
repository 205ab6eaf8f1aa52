/**
 * Keeps the locks of every live child's jobs alive from the supervisor, so that a job whose
 * processor blocks its child's event loop (a long synchronous computation) is not taken from it
 * while the child's process lives.
 *
 * A child renews its own locks (BullMQ's LockManager) from its event loop: a job that blocks
 * that loop for longer than the lock duration loses its lock, BullMQ's stalled check moves it
 * back to waiting, and another worker runs it a second time while the first still runs. The
 * supervisor knows every child's token base, so every `lockDuration / 3` it extends, with one
 * script per queue, the lock of each active job whose token starts with a live child's base
 * (only if it still does: a lock that moved on is never touched). The cost grows with the jobs
 * running, not with jobs per second. A child that is truly hung is ended by the time limit
 * (FreezeWatch); without one, its jobs wait for it, as they would under BullMQ for a job whose
 * promise never settles.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../observe/logger.js';

/**
 * KEYS[1]: the queue's active list. ARGV[1]: the job key prefix (`prefix:queue:`), ARGV[2]: the
 * lock duration (ms), ARGV[3…]: token bases, each ending in ':'. Returns how many locks it renewed.
 */
const KEEP_LOCKS = `
local ids = redis.call('LRANGE', KEYS[1], 0, -1)
local renewed = 0
for _, id in ipairs(ids) do
  local key = ARGV[1] .. id .. ':lock'
  local lock = redis.call('GET', key)
  if lock then
    for i = 3, #ARGV do
      if string.sub(lock, 1, #ARGV[i]) == ARGV[i] then
        redis.call('PEXPIRE', key, ARGV[2])
        renewed = renewed + 1
        break
      end
    end
  end
end
return renewed
`;

export interface LockKeeperOptions {
  client: Redis;
  prefix: string;
  lockDurationMs: number;
  /** The queues and token bases of the children alive now. */
  children: () => Array<{ tokenBase: string; queues: readonly string[] }>;
  log: Logger;
}

export class LockKeeper {
  private timer: NodeJS.Timeout | undefined;
  private warned = false;

  constructor(private readonly opts: LockKeeperOptions) {}

  start(): void {
    this.timer = setInterval(() => void this.renew(), Math.max(100, this.opts.lockDurationMs / 3));
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Extend the lock of every active job held by a live child; resolves to how many were extended. */
  async renew(): Promise<number> {
    const byQueue = new Map<string, string[]>();
    for (const c of this.opts.children()) {
      for (const q of c.queues) {
        const bases = byQueue.get(q) ?? [];
        bases.push(`${c.tokenBase}:`);
        byQueue.set(q, bases);
      }
    }
    let renewed = 0;
    try {
      for (const [queue, bases] of byQueue) {
        const base = `${this.opts.prefix}:${queue}:`;
        renewed += Number(await this.opts.client.eval(KEEP_LOCKS, 1, `${base}active`, base, String(this.opts.lockDurationMs), ...bases));
      }
      this.warned = false;
    } catch (err) {
      // The children renew their own locks too; this only covers a child whose loop is blocked.
      if (!this.warned) this.opts.log.warn({ err: (err as Error).message }, "could not renew the locks of the workers' jobs; retrying");
      this.warned = true;
    }
    return renewed;
  }
}
