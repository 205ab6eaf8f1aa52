/**
 * One daemon's membership of the fleet on its Redis: it registers (taking a new epoch), renews its
 * lease every heartbeat, tells its children until when the lease surely holds (on the host's
 * monotonic clock: they stop themselves then, see worker/lease-fence.ts), notices when it could not
 * renew for a whole lease (fenced), rejoins under a new epoch, and has dead peers' registrations
 * claimed and their jobs handed back (recovery.ts). Leases are judged by Redis' clock; see
 * scripts.ts for the keys.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { hostMonotonicMs, type Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { isConnectionError } from '../redis/connection-error.js';
import { connect, type RedisTarget } from '../redis/connection.js';
export type { InstanceFacts } from './view.js';
import { MAX_ENTRIES, MAX_INFO_BYTES } from './entry.js';
import { LeaseFile } from './lease-file.js';
import { Lease } from './lease.js';
import { PeerRecovery } from './recovery.js';
import { FORGET, LIST, REGISTER, RENEW, fleetKeys } from './scripts.js';
import { fleetView, instanceInfo, listenersByQueue, parseListing, type FleetView, type InstanceFacts, type InstanceInfo, type RegistryRow } from './view.js';

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
  /**
   * Slot members to renew with the lease (the fleet cap), and what to do with those lost: a member
   * Redis no longer has while the lease holds is taken again if fewer than `max` are held, else lost.
   */
  slots?: { key: string; max: number; held: () => string[]; lost: (members: string[]) => void };
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
  /**
   * A registration or renewal went through: until `until` (the host's monotonic clock, ms; see
   * hostMonotonicMs) no peer can have been given this daemon's slots or jobs.
   */
  lease: [{ until: number }];
  /** A dead peer's jobs were handed back. */
  recovered: [{ id: string; host: string; jobs: number; ms: number }];
}

export type MemberState = 'registering' | 'live' | 'fenced';

export class FleetMember extends EventEmitter<FleetMemberEvents> {
  state: MemberState = 'registering';
  /** Why the last registration or renewal failed (cleared when one succeeds), for readiness. */
  lastError: string | undefined;
  /** The current registration's id (`host/name#epoch`) and epoch. */
  id: string | undefined;
  epoch = 0;
  /** Where this daemon's children's watchdog threads read the newest lease deadline. */
  readonly leaseFile = new LeaseFile();
  private readonly client: Redis;
  /** Its own Redis connection (fails fast, times out within two heartbeats), for the fleet cap too. */
  get redis(): Redis {
    return this.client;
  }
  private readonly keys: ReturnType<typeof fleetKeys>;
  private readonly startedAt: number;
  private readonly peers: PeerRecovery;
  private readonly lease: Lease;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private warned = false;
  private stopped = false;
  private lastRows: { now: number; rows: RegistryRow[] } | undefined;
  private predecessorsChecked = false;

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
    this.lease = new Lease({ leaseMs: opts.leaseMs, heartbeatMs: opts.heartbeatMs, clock: opts.clock, log: opts.log, expired: (why) => !this.stopped && this.state === 'live' && this.fence(why) });
    this.peers = new PeerRecovery({
      client: this.client,
      keys: this.keys,
      pool: opts.pool,
      leaseMs: opts.leaseMs,
      clock: opts.clock,
      log: opts.log,
      self: () => ({ id: this.id!, instancePrefix: this.instancePrefix, pid: opts.pid, bases: this.info().tokenBases }),
      listing: () => this.listing(),
      recover: opts.recover,
      pidAlive: opts.pidAlive,
    });
    this.peers.on('recovered', (r) => this.emit('recovered', r));
  }

  /** `host/name#`: every registration of this instance (this process's and its predecessors'). */
  get instancePrefix(): string {
    return `${this.opts.host}/${this.opts.name}#`;
  }

  /** Start of each new child's token base: `e${epoch}/` once registered, '' before. */
  tokenPrefix(): string {
    return this.epoch > 0 ? `e${this.epoch}/` : '';
  }

  /** Until when (host monotonic ms) the lease surely holds: children may take jobs until then. */
  get leaseDeadline(): number {
    return this.lease.until;
  }

  /** Registered, and the lease surely holds now (a child forked now may take jobs). */
  holdsLease(): boolean {
    return this.state === 'live' && hostMonotonicMs() < this.lease.until;
  }

  /** Whether new slots may be asked for (not in the lease after Redis' clock was seen to jump ahead). */
  mayGrow(): boolean {
    return this.lease.mayGrow();
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
        if (!this.predecessorsChecked) {
          this.predecessorsChecked = true;
          await this.peers.recoverPredecessors();
        }
        if (this.lease.mayClaim()) await this.peers.claimExpired();
        await this.listing().catch(() => undefined);
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
    return instanceInfo(this.opts, this.opts.facts(), this.startedAt, this.epoch, this.tokenPrefix());
  }

  private async register(previous: string | undefined): Promise<void> {
    const k = this.keys;
    const sentAt = this.opts.clock.now();
    const sentMono = hostMonotonicMs();
    // The epoch is known only once the script ran: the info written carries the child bases now,
    // and the epoch's own prefix from the next renewal on.
    const reply = (await this.client.eval(REGISTER, 5, k.epoch, k.leases, k.info, k.beats, k.claims, this.instancePrefix, this.opts.leaseMs, JSON.stringify(this.info()), previous ?? '')) as [number, number, number, number, string];
    const [epoch, redisNow, carried, reset] = reply.slice(0, 4).map(Number) as [number, number, number, number];
    if (reset === 1) this.opts.log.warn({ key: k.epoch, epoch }, 'fleet: the epoch counter in Redis was not a number below 1e12; set again from the registrations it lists');
    this.epoch = epoch;
    this.id = String(reply[4]);
    this.okAt(sentAt, sentMono, redisNow, true);
    this.state = 'live';
    this.opts.log.info({ epoch, id: this.id, previous, carried: carried === 1 }, previous ? 'fleet: registered again under a new epoch' : 'fleet: registered');
    this.emit('registered', { epoch, id: this.id, carried: carried === 1, previous });
  }

  private async renew(): Promise<void> {
    const k = this.keys;
    const held = this.opts.slots?.held() ?? [];
    const sentAt = this.opts.clock.now();
    const sentMono = hostMonotonicMs();
    const reply = (await this.client.eval(RENEW, 5, k.leases, k.info, k.beats, k.claims, this.opts.slots?.key ?? k.slots(this.opts.pool), this.id!, this.opts.leaseMs, JSON.stringify(this.info()), this.opts.slots?.max ?? 0, ...held)) as Array<string | number>;
    const status = String(reply[0]);
    if (status === 'ok') {
      const lost = reply.slice(2).map(String);
      if (lost.length > 0) this.opts.slots?.lost(lost);
      const rejoined = this.state === 'fenced';
      this.okAt(sentAt, sentMono, Number(reply[1]), rejoined);
      this.emit('renewed', { sentAt });
      if (rejoined) {
        this.state = 'live';
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

  /** A registration or renewal went through: the new deadline, to the children and the lease file. */
  private okAt(sentAt: number, sentMono: number, redisNow: number, fresh: boolean): void {
    const until = this.lease.renewed(sentAt, sentMono, redisNow, fresh);
    this.leaseFile.write(until, this.opts.log);
    this.emit('lease', { until });
  }

  private fence(why: string): void {
    if (this.state === 'fenced') return;
    this.state = 'fenced';
    this.lease.lost();
    this.opts.log.warn({ id: this.id, why, leaseSeconds: this.opts.leaseMs / 1000 }, 'fleet: lease lost; every worker stops, none starts until it rejoins');
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
    const flat = (await this.client.eval(LIST, 4, k.leases, k.info, k.beats, k.claims, MAX_ENTRIES, MAX_INFO_BYTES)) as unknown[];
    const { now, rows, refused } = parseListing(flat);
    this.peers.warnRefused(refused);
    this.lastRows = { now, rows };
    return this.lastRows;
  }

  /** Recoveries under way have ended (or `timeoutMs` passed). */
  async idle(timeoutMs = 5000): Promise<void> {
    const until = this.opts.clock.now() + timeoutMs;
    while ((this.peers.busy || this.busy) && this.opts.clock.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  /**
   * Leave the fleet: give back `beforeLeaving`'s slots and delete the registration (a clean stop has
   * handed every job back already), within `budgetMs`; with Redis unreachable the lease just runs out.
   */
  async stop(budgetMs = 2000, beforeLeaving?: () => Promise<void>): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.lease.lost();
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
    this.leaseFile.remove();
  }
}
