/**
 * The fleet-wide cap (`--fleet-max-workers N`): the most workers of one pool name running at once
 * across every host on the Redis. Each worker process needs a slot lease, granted in Lua only while
 * fewer than N are held fleet-wide and renewed with the daemon's own lease; a child is forked only
 * when this daemon holds more slots than it has live children, and a daemon that loses its lease
 * stops its children before its slots can run out in Redis (see FleetMember's fence). A dead
 * host's slots come back when its lease runs out.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { ScalePolicy } from '../policy/types.js';
import { ACQUIRE_SLOTS, RELEASE_SLOTS, fleetKeys } from './scripts.js';

export interface FleetCapOptions {
  /** The fleet member's connection (it fails fast). */
  client: () => Redis;
  prefix: string;
  pool: string;
  max: number;
  leaseMs: number;
  log: Logger;
  /** The current registration id, undefined while not registered or fenced. */
  registration: () => string | undefined;
  /** Live children (starting, running, draining): each holds one slot. */
  live: () => number;
  /** Workers the supervisor is asked for now (min-workers at start, then each decision). */
  desired: () => number;
  /** Whether new slots may be asked for now (not for a lease after Redis' clock jumped ahead); default yes. */
  mayGrow?: () => boolean;
}

export interface FleetCapEvents {
  /** More slots are held than before: children may be forked. */
  granted: [held: number];
  /**
   * Slots were lost behind our back (Redis no longer had them, and none could be taken again):
   * the live children beyond `held` must stop now, as another host may be running in their slots.
   */
  lost: [held: number];
}

export class FleetCap extends EventEmitter<FleetCapEvents> {
  readonly key: string;
  private held = new Set<string>();
  private seq = 0;
  /** Workers the policy last wanted (before the cap). */
  wanted = 0;
  /** Slots held fleet-wide at the last look. */
  fleetHeld = 0;
  private syncing = false;

  constructor(private readonly opts: FleetCapOptions) {
    super();
    this.key = fleetKeys(opts.prefix).slots(opts.pool);
  }

  get max(): number {
    return this.opts.max;
  }

  get heldCount(): number {
    return this.held.size;
  }

  heldMembers(): string[] {
    return [...this.held];
  }

  /** Another child may start: this daemon holds a slot that no live child uses. */
  admit(): boolean {
    return this.opts.registration() !== undefined && this.opts.live() < this.held.size;
  }

  /** Slots Redis no longer has for us: forget them, and have the children beyond what is held stop. */
  lost(members: readonly string[]): void {
    let n = 0;
    for (const m of members) if (this.held.delete(m)) n++;
    if (n === 0) return;
    this.opts.log.warn({ lost: n, held: this.held.size, live: this.opts.live() }, 'fleet cap: slot leases lost (Redis no longer had them, and the cap is full)');
    this.emit('lost', this.held.size);
  }

  /** Our lease is lost: every slot counts as gone from now on. */
  dropAll(): void {
    this.held.clear();
  }

  /** Most workers this daemon may aim for now: the slots it holds and those free fleet-wide. */
  allowed(): number {
    return this.held.size + Math.max(0, this.opts.max - this.fleetHeld);
  }

  /**
   * Acquire slots up to what the pool wants (or give back those it no longer needs), renewing the
   * held ones. Called after each renewal of the daemon's lease.
   */
  async sync(): Promise<void> {
    const id = this.opts.registration();
    if (id === undefined || this.syncing) return;
    this.syncing = true;
    try {
      const live = this.opts.live();
      const want = Math.min(this.opts.max, Math.max(this.wanted, this.opts.desired(), live));
      if (this.held.size > want) {
        const extra = [...this.held].slice(0, this.held.size - Math.max(want, live));
        if (extra.length > 0) {
          await this.opts.client().eval(RELEASE_SLOTS, 1, this.key, ...extra);
          for (const m of extra) this.held.delete(m);
        }
      }
      const fresh: string[] = [];
      // After Redis' clock jumped ahead, a paused peer's slots look free before its children stop.
      if (this.opts.mayGrow?.() ?? true) for (let i = this.held.size; i < want; i++) fresh.push(`${id}|${++this.seq}`);
      const asked = [...this.held];
      const reply = (await this.opts.client().eval(ACQUIRE_SLOTS, 3, this.key, fleetKeys(this.opts.prefix).leases, fleetKeys(this.opts.prefix).claims, id, this.opts.max, this.opts.leaseMs, ...asked, ...fresh)) as Array<string | number>;
      this.fleetHeld = Number(reply[0]);
      if (this.opts.registration() !== id) return; // fenced meanwhile
      // What Redis granted is the whole truth: a held slot it no longer had, and could not grant
      // again, is lost (its child must stop); one released meanwhile stays released.
      const granted = new Set(reply.slice(1).map(String));
      const before = this.held.size;
      const dropped = asked.filter((m) => this.held.has(m) && !granted.has(m));
      this.held = new Set([...granted].filter((m) => this.held.has(m) || fresh.includes(m)));
      if (dropped.length > 0) {
        this.opts.log.warn({ lost: dropped.length, held: this.held.size }, 'fleet cap: slot leases lost (Redis no longer had them, and the cap is full)');
        this.emit('lost', this.held.size);
      }
      if (this.held.size > before) this.emit('granted', this.held.size);
    } finally {
      this.syncing = false;
    }
  }

  /** Give every slot back (a clean stop, after the children exited). */
  async releaseAll(): Promise<void> {
    const all = [...this.held];
    this.held.clear();
    if (all.length > 0) await this.opts.client().eval(RELEASE_SLOTS, 1, this.key, ...all).catch(() => undefined);
  }
}

/**
 * The policy, capped: it still decides as before (and the cap remembers what it wanted, to ask for
 * slots); a decision to grow past the slots this daemon holds or could get is a hold that says so.
 */
export function cappedPolicy(policy: ScalePolicy, cap: FleetCap): ScalePolicy {
  const capped: ScalePolicy = (s) => {
    const d = policy(s);
    cap.wanted = d.target;
    if (d.target <= s.workers) return d;
    const allowed = cap.allowed();
    if (d.target <= allowed) return d;
    const target = Math.max(s.workers, allowed);
    const note = `fleet cap ${cap.max} (${cap.fleetHeld} slots held fleet-wide, ${cap.heldCount} here): wants ${d.target}, ${target > s.workers ? `grows to ${target}` : 'holds'}`;
    return { action: target > s.workers ? 'up' : 'hold', target, reason: `${d.reason}; ${note}` };
  };
  capped.decidesEarly = policy.decidesEarly;
  return capped;
}
