/**
 * What this daemon knows of its own lease, from the renewals that went through: until when it
 * surely holds (on the host's monotonic clock, which its children share), when to call it lost
 * (the fence timer), whether it may claim peers yet, and whether Redis' clock was seen to jump.
 */
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';

export interface LeaseOptions {
  leaseMs: number;
  heartbeatMs: number;
  clock: Clock;
  log: Logger;
  /** No renewal went through for a whole lease less the margin. */
  expired: (why: string) => void;
}

export class Lease {
  /** Until when the lease surely holds, on the host's monotonic clock (ms). */
  until = -Infinity;
  private lastOkSentAt = -Infinity;
  /** The last renewal that went through: when it was sent (host monotonic ms) and Redis' time when it ran. */
  private lastOk: { sentMono: number; redisNow: number } | undefined;
  /** Since when the lease has been held without a break (clock ms). */
  private heldSince = Infinity;
  /** No new slot is asked for before this (clock ms): Redis' clock jumped ahead. */
  private growAfter = -Infinity;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: LeaseOptions) {}

  /** Half a heartbeat: what the children and this daemon keep between their stop and the lease's end. */
  get marginMs(): number {
    return this.opts.heartbeatMs / 2;
  }

  /**
   * A registration or renewal went through: sent at `sentAt` (clock ms) and `sentMono` (host
   * monotonic ms), run by Redis at `redisNow`; `fresh` after a registration or a lost lease (held
   * without a break from now on). Returns the new deadline.
   */
  renewed(sentAt: number, sentMono: number, redisNow: number, fresh: boolean): number {
    if (fresh) {
      this.lastOk = undefined;
      this.heldSince = sentAt;
    }
    this.watchRedisClock(sentMono, redisNow);
    this.lastOkSentAt = sentAt;
    // Redis set the lease to run out `leaseMs` after it ran the script, which is after we sent it:
    // stopping half a heartbeat before sent + lease leaves us stopped before any peer may act.
    this.until = sentMono + this.opts.leaseMs - this.marginMs;
    if (this.timer) clearTimeout(this.timer);
    const at = sentAt + this.opts.leaseMs - this.marginMs;
    this.timer = setTimeout(() => this.check(), Math.max(1, at - this.opts.clock.now()));
    return this.until;
  }

  /** The lease is lost (fenced, or stopping): nothing holds until the next registration. */
  lost(): void {
    this.until = -Infinity;
    this.heldSince = Infinity;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Only a daemon that has itself held its lease for a whole lease may call a peer dead: after an
   * outage of Redis for everyone, each gets a lease to rejoin (taking its old registration over)
   * before anyone claims anything, so their running jobs are not handed back.
   */
  mayClaim(): boolean {
    return this.opts.clock.now() - this.heldSince >= this.opts.leaseMs;
  }

  mayGrow(): boolean {
    return this.opts.clock.now() >= this.growAfter;
  }

  private check(): void {
    this.timer = undefined;
    const since = this.opts.clock.now() - this.lastOkSentAt;
    const due = this.opts.leaseMs - this.marginMs;
    // A timer may fire a fraction of a millisecond early by this clock: look again then.
    if (since < due) this.timer = setTimeout(() => this.check(), Math.max(1, Math.ceil(due - since)));
    else this.opts.expired(`no renewal for ${(since / 1000).toFixed(1)} s`);
  }

  /**
   * Redis' clock should advance as ours does between two renewals. If it ran ahead by more than the
   * margin (a failover to a node whose clock is ahead), every lease it holds ends early in real time:
   * a paused peer's may end before that peer's children stop. So for a whole lease this daemon
   * claims no peer and asks for no new slot: by then every child of every paused peer has stopped.
   */
  private watchRedisClock(sentMono: number, redisNow: number): void {
    const last = this.lastOk;
    this.lastOk = { sentMono, redisNow };
    if (!last) return;
    const aheadMs = redisNow - last.redisNow - (sentMono - last.sentMono);
    if (aheadMs <= this.marginMs) return;
    const now = this.opts.clock.now();
    this.heldSince = now;
    this.growAfter = now + this.opts.leaseMs;
    this.opts.log.warn({ aheadMs: Math.round(aheadMs), leaseSeconds: this.opts.leaseMs / 1000 }, "fleet: Redis' clock jumped ahead (a failover?); claiming no peer and asking for no new slot for one lease");
  }
}
