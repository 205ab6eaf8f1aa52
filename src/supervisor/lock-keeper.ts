/**
 * Keeps the locks of the jobs the children run alive from the supervisor, so that a job whose
 * processor blocks its child's event loop (a long synchronous computation) is not taken from it
 * while the child's process lives.
 *
 * A child renews its own locks (BullMQ's LockManager) from its event loop: a job that blocks
 * that loop for longer than the lock duration loses its lock, BullMQ's stalled check moves it
 * back to waiting, and another worker runs it a second time while the first still runs. Every
 * `lockDuration / 3` the keeper extends the lock of each job a child reported running in its
 * latest sample (in one script that checks the token again: a lock that moved on is never
 * touched), and of nothing else: a job the child has let go of (its completion and its failure
 * could both not be written) is left to run out and be recovered. The cost grows with the jobs
 * running here, not with the active jobs of the queue, nor with jobs per second.
 *
 * A child whose samples have stopped (its loop blocked) may have taken a job after its last
 * sample: for such a child the newest entries of its queues' active lists are read too, and a lock
 * it took after that sample (a token numbered above the sample's last, or a reported token now on
 * another job) is extended as well. A child that is truly hung is ended by the time limit
 * (FreezeWatch); without one, its jobs wait for it, as they would under BullMQ for a job whose
 * promise never settles.
 */
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { RECENT_ACTIVE } from './locked-jobs.js';
import type { HeldJob } from './worker-process.js';

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

/** What the keeper needs to know of a live child (a WorkerProcess). */
export interface KeptChild {
  tokenBase: string;
  queues: readonly string[];
  /** Its running jobs as of its latest sample, and the number of the last token it had made then. */
  reported: { jobs(): readonly HeldJob[]; tokenSeq: number };
  /** When that sample arrived (clock ms); undefined before the first. */
  lastSampleAt: number | undefined;
}

export interface LockKeeperOptions {
  client: Redis;
  prefix: string;
  lockDurationMs: number;
  /** The children alive now. */
  children: () => KeptChild[];
  clock: Clock;
  /** A child silent for longer than this has a blocked loop: jobs it took since its last sample are looked for. */
  silentAfterMs: number;
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

  /** Extend the lock of every job a live child runs; resolves to how many were extended. */
  async renew(): Promise<number> {
    let renewed = 0;
    try {
      const locks: Array<{ key: string; token: string }> = [];
      const now = this.opts.clock.now();
      for (const c of this.opts.children()) {
        for (const j of c.reported.jobs()) locks.push({ key: `${this.opts.prefix}:${j.queue}:${j.id}:lock`, token: j.token });
        if (c.lastSampleAt !== undefined && now - c.lastSampleAt > this.opts.silentAfterMs) locks.push(...(await this.takenSinceSample(c)));
      }
      for (let i = 0; i < locks.length; i += BATCH) {
        const batch = locks.slice(i, i + BATCH);
        // Every key is declared (Redis Cluster): with a {hash tag} prefix they share one slot.
        renewed += Number(await this.opts.client.eval(EXTEND_IF_STILL, batch.length, ...batch.map((m) => m.key), String(this.opts.lockDurationMs), ...batch.map((m) => m.token)));
      }
      this.warned = false;
    } catch (err) {
      // The children renew their own locks too; this only covers a child whose loop is blocked.
      if (!this.warned) this.opts.log.warn({ err: (err as Error).message }, "could not renew the locks of the workers' jobs; retrying");
      this.warned = true;
    }
    return renewed;
  }

  /**
   * Locks a silent child took after its last sample, among the newest active jobs of its queues: a
   * token numbered above the sample's last, or a reported token that now locks another job (the
   * completion of a reported job took the next one with it).
   */
  private async takenSinceSample(c: KeptChild): Promise<Array<{ key: string; token: string }>> {
    const mine = `${c.tokenBase}:`;
    const reported = new Map(c.reported.jobs().map((j) => [j.token, `${j.queue}:${j.id}`]));
    const out: Array<{ key: string; token: string }> = [];
    for (const queue of c.queues) {
      const base = `${this.opts.prefix}:${queue}:`;
      const ids = await this.opts.client.lrange(`${base}active`, 0, RECENT_ACTIVE - 1);
      for (let i = 0; i < ids.length; i += BATCH) {
        const keys = ids.slice(i, i + BATCH).map((id) => `${base}${id}:lock`);
        const values = await this.opts.client.mget(...keys);
        keys.forEach((key, k) => {
          const token = values[k];
          if (!token?.startsWith(mine)) return;
          const job = `${queue}:${ids[i + k]}`;
          const held = reported.get(token);
          if (held === undefined ? Number(token.slice(mine.length)) > c.reported.tokenSeq : held !== job) out.push({ key, token });
        });
      }
    }
    return out;
  }
}
