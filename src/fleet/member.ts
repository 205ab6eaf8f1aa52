/**
 * One daemon's membership of the fleet on its Redis: it registers (taking a new epoch), renews its
 * lease every heartbeat, notices when it could not renew for a whole lease (fenced), rejoins under
 * a new epoch, and claims the registrations of dead peers so that their jobs are handed back. A
 * restarted daemon claims its predecessor's registration at start-up once it has shown the old
 * process is gone. Leases are judged by Redis' clock; see scripts.ts for the keys.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { isConnectionError } from '../redis/connection-error.js';
import { connect, type RedisTarget } from '../redis/connection.js';
import { CLAIM_EXPIRED, CLAIM_ONE, FORGET, LIST, REGISTER, RENEW, fleetKeys } from './scripts.js';
import { epochOf, fleetView, listenersByQueue, parseListing, type FleetView, type InstanceInfo, type RegistryRow } from './view.js';

/** What changes between renewals; the rest of InstanceInfo is fixed at start. */
export type InstanceFacts = Pick<InstanceInfo, 'queues' | 'workers' | 'busy' | 'concurrency' | 'utilization' | 'desired' | 'demand'> & {
  /** `${tokenBase}:` of every live child. */
  childBases: string[];
};

export interface FleetMemberOptions {
  redisUrl: string;
  /** The Redis to register on, in any mode (Sentinel, Cluster); absent: `redisUrl`. */
  redis?: RedisTarget;
  prefix: string;
  host: string;
  name: string;
  pool: string;
  pid: number;
  version: string;
  heartbeatMs: number;
  leaseMs: number;
  fleetMaxWorkers?: number;
  clock: Clock;
  log: Logger;
  facts: () => InstanceFacts;
  /** Hand back a dead registration's jobs; reject to leave it for another try. */
  recover: (info: InstanceInfo, sinceMs: number) => Promise<number>;
  /** Slot members to renew with the lease (the fleet cap), and what to do with those lost. */
  slots?: { key: string; held: () => string[]; lost: (members: string[]) => void };
  /** Whether a process id is alive on this host (the predecessor check). */
  pidAlive?: (pid: number) => boolean;
}

export interface FleetMemberEvents {
  /** Registered (first time or again); `carried`: the old registration was taken over, its children stay covered. */
  registered: [{ epoch: number; id: string; carried: boolean; previous: string | undefined }];
  /** Could not renew for (nearly) a whole lease: it must be treated as lost from now on. */
  fenced: [];
  /** A renewal got through after a fence, and the lease was still ours. */
  unfenced: [];
  /** A renewal went through (after the script ran); `sentAt` is when it was sent (monotonic ms). */
  renewed: [{ sentAt: number }];
  /** A dead peer's jobs were handed back. */
  recovered: [{ id: string; host: string; jobs: number; ms: number }];
}

export type MemberState = 'registering' | 'live' | 'fenced';

function defaultPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class FleetMember extends EventEmitter<FleetMemberEvents> {
  state: MemberState = 'registering';
  /** Why the last registration or renewal failed (cleared when one succeeds), for readiness. */
  lastError: string | undefined;
  /** The current registration's id (`host/name#epoch`) and epoch. */
  id: string | undefined;
  epoch = 0;
  private readonly client: Redis;
  /** Its own Redis connection (fails fast, times out within two heartbeats), for the fleet cap too. */
  get redis(): Redis {
    return this.client;
  }
  private readonly keys: ReturnType<typeof fleetKeys>;
  private readonly startedAt: number;
  private timer: NodeJS.Timeout | undefined;
  private fenceTimer: NodeJS.Timeout | undefined;
  private busy = false;
  private warned = false;
  private stopped = false;
  private lastOkSentAt = -Infinity;
  /** Since when this daemon has held its lease without a break (monotonic ms). */
  private liveSince = Infinity;
  private lastRows: { now: number; rows: RegistryRow[] } | undefined;
  private predecessorsChecked = false;
  private readonly recovering = new Set<string>();

  constructor(private readonly opts: FleetMemberOptions) {
    super();
    this.keys = fleetKeys(opts.prefix);
    this.startedAt = opts.clock.wallNow();
    // Its own connection, failing fast: a renewal that cannot get through must say so within a
    // heartbeat or two, not wait for Redis behind the pool's queues.
    this.client = connect(opts.redis ?? opts.redisUrl, { connectionName: `worker-pool:${opts.pool}:fleet`, failFast: true });
    // A renewal that hangs must not look like one that went through: bound every command
    // (ioredis reads the option as each command is sent).
    if (this.client.options) this.client.options.commandTimeout = Math.max(250, opts.heartbeatMs * 2);
    this.client.on('error', () => undefined);
  }

  /** `host/name#`: every registration of this instance (this process's and its predecessors'). */
  get instancePrefix(): string {
    return `${this.opts.host}/${this.opts.name}#`;
  }

  /** Start of each new child's token base: `e${epoch}/` once registered, '' before. */
  tokenPrefix(): string {
    return this.epoch > 0 ? `e${this.epoch}/` : '';
  }

  start(): void {
    void this.beat();
    this.timer = setInterval(() => void this.beat(), this.opts.heartbeatMs);
  }

  /** One heartbeat: register or renew, then claim what peers left behind. Never two at once. */
  async beat(): Promise<void> {
    if (this.busy || this.stopped) return;
    this.busy = true;
    try {
      if (this.id === undefined) await this.register(undefined);
      else await this.renew();
      this.lastError = undefined;
      if (this.state === 'live') {
        if (!this.predecessorsChecked) await this.recoverPredecessors();
        // Only a daemon that has itself renewed for a whole lease may call a peer dead: after an
        // outage of Redis for everyone, each gets a lease to rejoin (taking its old registration
        // over) before anyone claims anything, so their running jobs are not handed back.
        if (this.opts.clock.now() - this.liveSince >= this.opts.leaseMs) await this.claimExpired();
        else await this.listing().catch(() => undefined);
      }
    } catch (err) {
      this.lastError = (err as Error).message;
      if (this.id === undefined && !this.warned) {
        this.warned = true;
        // Redis down is said once, by the daemon's reachability watch; anything else is said here.
        this.opts.log[isConnectionError(err) || /max retries per request|connection is closed/i.test((err as Error).message) ? 'info' : 'warn']({ err: (err as Error).message }, 'fleet: cannot register in Redis yet; workers start once registered');
      } else this.opts.log.debug({ err: (err as Error).message }, 'fleet heartbeat failed');
    } finally {
      this.busy = false;
    }
  }

  private info(): InstanceInfo {
    const f = this.opts.facts();
    const { childBases, ...facts } = f;
    return {
      host: this.opts.host,
      name: this.opts.name,
      pid: this.opts.pid,
      pool: this.opts.pool,
      ...facts,
      version: this.opts.version,
      startedAt: this.startedAt,
      epoch: this.epoch,
      tokenBases: [this.tokenPrefix(), ...childBases].filter((b) => b !== ''),
      leaseSeconds: this.opts.leaseMs / 1000,
      ...(this.opts.fleetMaxWorkers !== undefined ? { fleetMaxWorkers: this.opts.fleetMaxWorkers } : {}),
    };
  }

  private async register(previous: string | undefined): Promise<void> {
    const k = this.keys;
    const sentAt = this.opts.clock.now();
    // The epoch is known only once the script ran: the info written carries the child bases now,
    // and the epoch's own prefix from the next renewal on.
    const reply = (await this.client.eval(REGISTER, 5, k.epoch, k.leases, k.info, k.beats, k.claims, this.instancePrefix, this.opts.leaseMs, JSON.stringify(this.info()), previous ?? '')) as [number, number, number];
    const [epoch, , carried] = reply.map(Number) as [number, number, number];
    this.epoch = epoch;
    this.id = `${this.instancePrefix}${epoch}`;
    this.okAt(sentAt);
    this.state = 'live';
    this.liveSince = sentAt;
    this.opts.log.info({ epoch, id: this.id, previous, carried: carried === 1 }, previous ? 'fleet: registered again under a new epoch' : 'fleet: registered');
    this.emit('registered', { epoch, id: this.id, carried: carried === 1, previous });
  }

  private async renew(): Promise<void> {
    const k = this.keys;
    const held = this.opts.slots?.held() ?? [];
    const sentAt = this.opts.clock.now();
    const reply = (await this.client.eval(RENEW, 5, k.leases, k.info, k.beats, k.claims, this.opts.slots?.key ?? `${this.opts.prefix}:fleet:slots:${this.opts.pool}`, this.id!, this.opts.leaseMs, JSON.stringify(this.info()), ...held)) as Array<string | number>;
    const status = String(reply[0]);
    if (status === 'ok') {
      const lost = reply.slice(2).map(String);
      if (lost.length > 0) this.opts.slots?.lost(lost);
      this.okAt(sentAt);
      this.emit('renewed', { sentAt });
      if (this.state === 'fenced') {
        this.state = 'live';
        this.liveSince = sentAt;
        this.opts.log.info({ id: this.id }, 'fleet: lease renewed again in time');
        this.emit('unfenced');
      }
      return;
    }
    // The lease ran out (a partition, a pause): rejoin under a new epoch. An expired registration
    // nobody claimed yet is taken over (its children's jobs stay theirs); a claimed one is its claimer's.
    if (this.state !== 'fenced') this.fence(`renewal answered ${status}`);
    this.opts.slots?.lost(held);
    await this.register(this.id);
  }

  private okAt(sentAt: number): void {
    this.lastOkSentAt = sentAt;
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    // Redis set the lease to run out `leaseMs` after it ran the script, which is after we sent it:
    // fencing half a heartbeat before sentAt + lease leaves us stopped before any peer may act.
    const at = sentAt + this.opts.leaseMs - this.opts.heartbeatMs / 2;
    this.fenceTimer = setTimeout(() => this.checkFence(), Math.max(1, at - this.opts.clock.now()));
  }

  private checkFence(): void {
    if (this.stopped || this.state !== 'live') return;
    const since = this.opts.clock.now() - this.lastOkSentAt;
    const due = this.opts.leaseMs - this.opts.heartbeatMs / 2;
    // A timer may fire a fraction of a millisecond early by this clock: look again then.
    if (since < due) this.fenceTimer = setTimeout(() => this.checkFence(), Math.max(1, Math.ceil(due - since)));
    else this.fence(`no renewal for ${(since / 1000).toFixed(1)} s`);
  }

  private fence(why: string): void {
    if (this.state === 'fenced') return;
    this.state = 'fenced';
    this.opts.log.warn({ id: this.id, why, leaseSeconds: this.opts.leaseMs / 1000 }, 'fleet: lease lost; no new workers until it rejoins');
    this.emit('fenced');
  }

  /** Every registration on this Redis and prefix, as Redis sees it now. */
  async view(): Promise<FleetView> {
    const listing = await this.listing();
    return fleetView(listing.now, listing.rows);
  }

  /** Live instances per queue, from the last heartbeat's listing (for dividing a shared backlog). */
  queueListeners(): Map<string, number> {
    return this.lastRows ? listenersByQueue(this.lastRows.now, this.lastRows.rows) : new Map();
  }

  /** Every registration on this Redis and prefix as the registry holds it now, with Redis' time. */
  async listing(): Promise<{ now: number; rows: RegistryRow[] }> {
    const k = this.keys;
    const flat = (await this.client.eval(LIST, 4, k.leases, k.info, k.beats, k.claims)) as unknown[];
    this.lastRows = parseListing(flat);
    return this.lastRows;
  }

  /** Claim every registration whose lease ran out, hand its jobs back, delete it. */
  private async claimExpired(): Promise<void> {
    const k = this.keys;
    const flat = (await this.client.eval(CLAIM_EXPIRED, 3, k.leases, k.info, k.claims, this.id!, this.claimMs(), this.id!, 16)) as Array<string | number>;
    await this.listing().catch(() => undefined);
    for (let i = 0; i + 2 < flat.length; i += 3) {
      const id = String(flat[i]);
      const overdueMs = Number(flat[i + 2]);
      let info: InstanceInfo;
      try {
        info = JSON.parse(String(flat[i + 1])) as InstanceInfo;
      } catch {
        info = {} as InstanceInfo;
      }
      this.opts.log.warn({ claimed: id, host: info.host, overdueMs }, "fleet: a peer's lease ran out; handing its jobs back");
      this.startRecovery(id, info, this.opts.clock.now() - overdueMs);
    }
  }

  private startRecovery(id: string, info: InstanceInfo, since: number): void {
    if (this.recovering.has(id)) return;
    this.recovering.add(id);
    // Its epoch's own prefix covers children forked after its last renewal.
    info = { ...info, tokenBases: [`e${epochOf(id)}/`, ...(info.tokenBases ?? [])] };
    void (async () => {
      try {
        const jobs = await this.opts.recover(info, since);
        const k = this.keys;
        await this.client.eval(FORGET, 5, k.leases, k.info, k.beats, k.claims, k.slots(info.pool ?? this.opts.pool), id, this.id!);
        const ms = this.opts.clock.now() - since;
        this.opts.log.info({ claimed: id, host: info.host, jobs, ms: Math.round(ms) }, "fleet: dead instance's jobs handed back; registration removed");
        this.emit('recovered', { id, host: info.host, jobs, ms });
      } catch (err) {
        this.opts.log.warn({ claimed: id, err: (err as Error).message }, 'fleet: could not finish a recovery; its claim runs out and it is tried again');
      } finally {
        this.recovering.delete(id);
      }
    })();
  }

  private claimMs(): number {
    return this.opts.leaseMs * 3;
  }

  /**
   * At start-up: registrations of this very instance (same host, same name) left by a process that
   * is gone (systemd restarted us after a crash) are claimed at once, without waiting for their lease.
   */
  private async recoverPredecessors(): Promise<void> {
    this.predecessorsChecked = true;
    const { rows } = await this.listing();
    const alive = this.opts.pidAlive ?? defaultPidAlive;
    for (const r of rows) {
      if (!r.id.startsWith(this.instancePrefix) || r.id === this.id || r.claimedBy !== '') continue;
      const pid = r.info.pid;
      if (pid === undefined || pid === this.opts.pid || alive(pid)) continue;
      const k = this.keys;
      const json = (await this.client.eval(CLAIM_ONE, 3, k.leases, k.info, k.claims, this.id!, this.claimMs(), r.id)) as string | null;
      if (!json) continue;
      this.opts.log.warn({ claimed: r.id, pid }, "fleet: this instance's previous process is gone; handing its jobs back now");
      this.startRecovery(r.id, JSON.parse(json) as InstanceInfo, this.opts.clock.now());
    }
  }

  /** Recoveries under way have ended (or `timeoutMs` passed). */
  async idle(timeoutMs = 5000): Promise<void> {
    const until = this.opts.clock.now() + timeoutMs;
    while ((this.recovering.size > 0 || this.busy) && this.opts.clock.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * Leave the fleet: give back `beforeLeaving`'s slots and delete the registration (a clean stop has
   * handed every job back already), within `budgetMs`; with Redis unreachable the lease just runs out.
   */
  async stop(budgetMs = 2000, beforeLeaving?: () => Promise<void>): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.fenceTimer) clearTimeout(this.fenceTimer);
    const leave = async () => {
      await this.idle(budgetMs / 2);
      await beforeLeaving?.();
      if (this.id === undefined) return;
      const k = this.keys;
      await this.client.eval(FORGET, 5, k.leases, k.info, k.beats, k.claims, k.slots(this.opts.pool), this.id, '');
    };
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([leave().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, budgetMs)))]);
    clearTimeout(timer);
    this.client.disconnect();
  }
}
