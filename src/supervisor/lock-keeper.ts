/**
 * Keeps the locks of every live child's jobs alive from the supervisor, so that a job whose
 * processor blocks its child's event loop (a long synchronous computation) is not taken from it
 * while the child's process lives.
 *
 * A child renews its own locks (BullMQ's LockManager) from its event loop: a job that blocks
 * that loop for longer than the lock duration loses its lock, BullMQ's stalled check moves it
 * back to waiting, and another worker runs it a second time while the first still runs. The
 * supervisor knows every child's token base, so every `lockDuration / 3` it reads each queue's
 * active list and locks, and extends the lock of each job whose token starts with a live child's
 * base (in one script that checks the token again: a lock that moved on is never touched). The cost grows with the jobs
 * running, not with jobs per second. A child that is truly hung is ended by the time limit
 * (FreezeWatch); without one, its jobs wait for it, as they would under BullMQ for a job whose
 * promise never settles.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

/**
 * KEYS: the lock keys to extend; ARGV[1]: the lock duration (ms), ARGV[i + 1]: the token KEYS[i]
 * must still hold (a lock that moved on is left alone). Returns how many it extended.
 */
const EXTEND_IF_STILL = `
local renewed = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i + 1] then
    redis.call('PEXPIRE', key, ARGV[1])
    renewed = renewed + 1
  end
end
return renewed
`;

/** Locks read and extended per round trip. */
const BATCH = 500;

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
        const client = this.opts.client;
        const ids = await client.lrange(`${base}active`, 0, -1);
        for (let i = 0; i < ids.length; i += BATCH) {
          const keys = ids.slice(i, i + BATCH).map((id) => `${base}${id}:lock`);
          const locks = await client.mget(...keys);
          const mine = keys.flatMap((key, k) => {
            const lock = locks[k];
            return lock && bases.some((b) => lock.startsWith(b)) ? [{ key, lock }] : [];
          });
          if (mine.length === 0) continue;
          // Every key is declared (Redis Cluster): with a {hash tag} prefix they share one slot.
          renewed += Number(await client.eval(EXTEND_IF_STILL, mine.length, ...mine.map((m) => m.key), String(this.opts.lockDurationMs), ...mine.map((m) => m.lock)));
        }
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
