/**
 * Claiming what dead peers left behind: every registration whose lease ran out (and, at start-up,
 * this instance's own predecessors whose process is gone) is claimed in Lua by exactly one peer,
 * its jobs handed back, and the registration deleted. What the registry says is checked first
 * (entry.ts): a malformed or oversized entry is removed with a warning and never acted on, and a
 * token base that another registration also lists is left out, so a bad entry cannot turn a peer
 * against live work.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { MAX_INFO_BYTES, checkEntry, epochPrefix, overlaps, parseRegistrationId, type EntryCheck } from './entry.js';
import { CLAIM_EXPIRED, CLAIM_ONE, FORGET, type fleetKeys } from './scripts.js';
import type { InstanceInfo, RefusedEntry, RegistryRow } from './view.js';

/** Most expired registrations claimed by one heartbeat. */
const CLAIMS_PER_BEAT = 16;

export interface PeerRecoveryOptions {
  client: Redis;
  keys: ReturnType<typeof fleetKeys>;
  pool: string;
  leaseMs: number;
  clock: Clock;
  log: Logger;
  /** This daemon: its registration id, its `host/name#` and pid, and the token bases it uses now. */
  self: () => { id: string; instancePrefix: string; pid: number; bases: string[] };
  /** A fresh listing of the registry (checked entries only). */
  listing: () => Promise<{ now: number; rows: RegistryRow[] }>;
  /** Hand back a dead registration's jobs (`info.tokenBases` already cleared of others' bases). */
  recover: (info: InstanceInfo, sinceMs: number) => Promise<number>;
  /** Whether a process id is alive on this host (the predecessor check); default: kill(pid, 0). */
  pidAlive?: (pid: number) => boolean;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface PeerRecoveryEvents {
  recovered: [{ id: string; host: string; jobs: number; ms: number }];
}

export class PeerRecovery extends EventEmitter<PeerRecoveryEvents> {
  private readonly recovering = new Set<string>();
  /** Ids of refused entries already warned about (forgotten once they leave the registry). */
  private readonly warned = new Set<string>();

  constructor(private readonly opts: PeerRecoveryOptions) {
    super();
  }

  get busy(): boolean {
    return this.recovering.size > 0;
  }

  /** Say once per entry that the registry holds one that is not acted on. */
  warnRefused(refused: readonly RefusedEntry[]): void {
    const now = new Set(refused.map((r) => r.id));
    for (const id of this.warned) if (!now.has(id)) this.warned.delete(id);
    for (const r of refused) {
      if (this.warned.has(r.id)) continue;
      this.warned.add(r.id);
      this.opts.log.warn({ entry: r.id.slice(0, 120), why: r.why }, 'fleet: a registry entry in Redis is malformed; it is ignored (no job is handed back on its word)');
    }
  }

  /** Claim every registration whose lease ran out, hand its jobs back, delete it. */
  async claimExpired(): Promise<void> {
    const k = this.opts.keys;
    const self = this.opts.self();
    const flat = (await this.opts.client.eval(CLAIM_EXPIRED, 4, k.leases, k.info, k.claims, k.beats, self.id, this.claimMs(), self.id, CLAIMS_PER_BEAT, MAX_INFO_BYTES)) as Array<string | number>;
    for (let i = 0; i + 3 < flat.length; i += 4) {
      const id = String(flat[i]);
      const size = Number(flat[i + 2]);
      if (size < 0) {
        this.opts.log.warn({ entry: id }, 'fleet: removed an expired registry entry whose id no daemon writes; nothing was handed back');
        continue;
      }
      const overdueMs = Number(flat[i + 3]);
      const check = this.check(id, String(flat[i + 1]), size);
      if (!check.ok) {
        await this.drop(id, check.why);
        continue;
      }
      this.opts.log.warn({ claimed: id, host: check.info.host, overdueMs }, "fleet: a peer's lease ran out; handing its jobs back");
      this.start(id, check.info, this.opts.clock.now() - overdueMs);
    }
  }

  /**
   * At start-up: registrations of this very instance (same host, same name) left by a process that
   * is gone (systemd restarted us after a crash) are claimed at once, without waiting for their lease.
   */
  async recoverPredecessors(): Promise<void> {
    const self = this.opts.self();
    const { rows } = await this.opts.listing();
    for (const r of rows) {
      if (!r.id.startsWith(self.instancePrefix) || r.id === self.id || r.claimedBy !== '') continue;
      const pid = r.info.pid;
      if (pid === undefined || pid === self.pid || (this.opts.pidAlive ?? pidAlive)(pid)) continue;
      const k = this.opts.keys;
      const reply = (await this.opts.client.eval(CLAIM_ONE, 3, k.leases, k.info, k.claims, self.id, this.claimMs(), r.id, MAX_INFO_BYTES)) as [string, number] | null;
      if (!reply) continue;
      const check = this.check(r.id, String(reply[0]), Number(reply[1]));
      if (!check.ok) {
        await this.drop(r.id, check.why);
        continue;
      }
      this.opts.log.warn({ claimed: r.id, pid }, "fleet: this instance's previous process is gone; handing its jobs back now");
      this.start(r.id, check.info, this.opts.clock.now());
    }
  }

  private check(id: string, json: string, size: number): EntryCheck {
    return size > MAX_INFO_BYTES ? { ok: false, why: `its description is ${size} bytes (at most ${MAX_INFO_BYTES})` } : checkEntry(id, json);
  }

  /** A claimed entry that fails its check: deleted, nothing handed back (it would stay "recovering" for good). */
  private async drop(id: string, why: string): Promise<void> {
    this.opts.log.warn({ entry: id.slice(0, 120), why }, 'fleet: an expired registry entry is malformed; removed without handing back any job');
    const k = this.opts.keys;
    await this.opts.client.eval(FORGET, 5, k.leases, k.info, k.beats, k.claims, k.slots(this.opts.pool), id, this.opts.self().id).catch(() => undefined);
  }

  /**
   * The token bases a recovery may use: the registration's own, less any that could match a lock
   * of another registration (or of this daemon): an entry cannot name someone else's jobs, and an
   * epoch given out twice (a counter lost in a failover) does not mix two registrations' jobs.
   */
  private async basesOf(id: string, info: InstanceInfo): Promise<string[]> {
    const epoch = parseRegistrationId(id)!.epoch;
    const own = [...new Set([epochPrefix(epoch), ...info.tokenBases])];
    const { rows } = await this.opts.listing();
    const others = [...this.opts.self().bases, ...rows.filter((r) => r.id !== id).flatMap((r) => [epochPrefix(parseRegistrationId(r.id)!.epoch), ...r.info.tokenBases])];
    const kept = own.filter((b) => !others.some((o) => overlaps(b, o)));
    if (kept.length < own.length) this.opts.log.warn({ claimed: id, left: own.filter((b) => !kept.includes(b)) }, 'fleet: token bases of a dead registration are also listed by another; their jobs are left to their owner (or the stalled check)');
    return kept;
  }

  private start(id: string, info: InstanceInfo, since: number): void {
    if (this.recovering.has(id)) return;
    this.recovering.add(id);
    void (async () => {
      try {
        const jobs = await this.opts.recover({ ...info, tokenBases: await this.basesOf(id, info) }, since);
        const k = this.opts.keys;
        await this.opts.client.eval(FORGET, 5, k.leases, k.info, k.beats, k.claims, k.slots(info.pool), id, this.opts.self().id);
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
}
