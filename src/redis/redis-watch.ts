/**
 * What the supervisor knows about the Redis it talks to, for the operator: which master its
 * connection reaches now, the failovers it has seen (the master changed between two connections),
 * its reconnections, and whether the eviction policy can throw jobs away (BullMQ needs
 * `noeviction`). Read from the supervisor's own connection; nothing here scales with jobs.
 */
import type { Redis } from 'ioredis';
import { currentMasters, isCluster } from './connection.js';

export interface Failover {
  /** Wall-clock ms when the new master was first reached. */
  at: number;
  from: string[];
  to: string[];
}

/** How often the eviction policy and the role are read again (an operator may change them at run time). */
const POLICY_REFRESH_MS = 15_000;

export class RedisWatch {
  masters: string[] = [];
  failovers = 0;
  reconnections = 0;
  lastFailover: Failover | undefined;
  /** `maxmemory-policy` as Redis last reported it; undefined until read (or when it cannot be read). */
  evictionPolicy: string | undefined;
  /** "host:port" of the master when the connection reaches a replica (read-only); else undefined. */
  replicaOf: string | undefined;
  private readies = 0;
  private policyReadAt = -Infinity;
  private readonly failoverListeners: Array<(f: Failover) => void> = [];

  constructor(
    private readonly client: Redis,
    private readonly wallNow: () => number = Date.now,
  ) {
    client.on('ready', () => this.onReady());
    // A cluster's masters change without a reconnect of the client: look again when a node comes or goes.
    if (isCluster(client)) for (const ev of ['+node', '-node']) (client as unknown as NodeJS.EventEmitter).on(ev, () => this.onReady(false));
  }

  onFailover(f: (failover: Failover) => void): void {
    this.failoverListeners.push(f);
  }

  private onReady(reconnect = true): void {
    if (!reconnect && this.readies === 0) return; // a cluster still discovering its nodes
    if (reconnect && this.readies++ > 0) this.reconnections++;
    const now = currentMasters(this.client);
    if (now.length === 0) return;
    if (this.masters.length > 0 && now.join(',') !== this.masters.join(',')) {
      this.failovers++;
      this.lastFailover = { at: this.wallNow(), from: this.masters, to: now };
      for (const f of this.failoverListeners) f(this.lastFailover);
    }
    this.masters = now;
    this.policyReadAt = -Infinity;
  }

  /**
   * Read `maxmemory-policy` and the role (INFO: needs no CONFIG permission), at most every
   * POLICY_REFRESH_MS and again after each reconnection. Not for a cluster (INFO reaches one node).
   */
  async refresh(monoNow: number): Promise<void> {
    if (monoNow - this.policyReadAt < POLICY_REFRESH_MS || isCluster(this.client)) return;
    this.policyReadAt = monoNow;
    try {
      const info = await this.client.info();
      this.evictionPolicy = /^maxmemory_policy:(\S+)/m.exec(info)?.[1];
      const replica = /^role:slave/m.test(info);
      this.replicaOf = replica ? `${/^master_host:(\S+)/m.exec(info)?.[1] ?? '?'}:${/^master_port:(\S+)/m.exec(info)?.[1] ?? '?'}` : undefined;
    } catch {
      // Not allowed (ACL) or not answering: keep what was known.
    }
  }

  /** One line for /readyz: the master now and the last failover. */
  describe(): string {
    const master = this.masters.length > 0 ? this.masters.join(',') : 'unknown';
    const last = this.lastFailover ? `last failover ${new Date(this.lastFailover.at).toISOString()} (${this.lastFailover.from.join(',')} → ${this.lastFailover.to.join(',')})` : 'no failover seen';
    return `redis master ${master}; ${last}; ${this.failovers} failovers, ${this.reconnections} reconnections`;
  }

  /** BullMQ's warning, as a sentence, when the policy lets Redis evict job keys; else undefined. */
  evictionWarning(): string | undefined {
    const p = this.evictionPolicy;
    if (p === undefined || p === 'noeviction') return undefined;
    return `Redis maxmemory-policy is ${p}; it should be noeviction, or Redis may evict job keys under memory pressure`;
  }
}
