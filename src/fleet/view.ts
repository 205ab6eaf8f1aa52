/**
 * What one registration says about its instance, and the fleet view built from the registry's
 * raw listing (`GET /fleet`, `worker-pool status --fleet`). Pure: times come from Redis' clock.
 */
import { MAX_INFO_BYTES, checkEntry, parseRegistrationId, type InstanceInfo } from './entry.js';

export type { InstanceInfo } from './entry.js';

/** What changes between renewals; the rest of InstanceInfo is fixed at start. */
export type InstanceFacts = Pick<InstanceInfo, 'queues' | 'workers' | 'busy' | 'concurrency' | 'utilization' | 'desired' | 'demand'> & {
  /** `${tokenBase}:` of every live child (and of dead ones whose jobs are still being handed back). */
  childBases: string[];
};

/** What a daemon writes into its registration: what it is, and its facts of the moment. */
export function instanceInfo(
  o: { host: string; name: string; pid: number; pool: string; version: string; leaseMs: number; fleetMaxWorkers?: number },
  facts: InstanceFacts,
  startedAt: number,
  epoch: number,
  tokenPrefix: string,
): InstanceInfo {
  const { childBases, ...rest } = facts;
  return {
    host: o.host,
    name: o.name,
    pid: o.pid,
    pool: o.pool,
    ...rest,
    version: o.version,
    startedAt,
    epoch,
    tokenBases: [tokenPrefix, ...childBases].filter((b) => b !== ''),
    leaseSeconds: o.leaseMs / 1000,
    ...(o.fleetMaxWorkers !== undefined ? { fleetMaxWorkers: o.fleetMaxWorkers } : {}),
  };
}

/**
 * live: renewing its lease; lost: its lease ran out and no peer has claimed it yet; recovering: a
 * peer claimed it and is handing its jobs back.
 */
export type InstanceState = 'live' | 'lost' | 'recovering';

/** One instance as `GET /fleet` shows it: what its registration says, and how its lease stands. */
export interface FleetInstance extends Pick<InstanceInfo, 'host' | 'name' | 'pid' | 'pool' | 'queues' | 'workers' | 'busy' | 'concurrency' | 'utilization' | 'epoch' | 'desired' | 'version' | 'startedAt'> {
  id: string;
  heartbeatAgeSeconds: number;
  state: InstanceState;
  claimedBy?: string;
}

export interface FleetView {
  instances: FleetInstance[];
}

/** One row of the registry's listing, as the LIST script returns it (its description checked). */
export interface RegistryRow {
  id: string;
  leaseExpiry: number;
  lastBeat: number;
  claimedBy: string;
  info: InstanceInfo;
}

/** An entry of the registry that was left out, and why (see checkEntry). */
export interface RefusedEntry {
  id: string;
  why: string;
}

/**
 * Parse the LIST script's flat reply (Redis' now, then id, lease expiry, last renewal, claimer,
 * description JSON and its length per registration). An entry whose description fails checkEntry
 * is left out of `rows` and named in `refused`: nothing is judged by it.
 */
export function parseListing(flat: unknown[]): { now: number; rows: RegistryRow[]; refused: RefusedEntry[] } {
  const now = Number(flat[0]);
  const rows: RegistryRow[] = [];
  const refused: RefusedEntry[] = [];
  for (let i = 1; i + 5 < flat.length; i += 6) {
    const id = String(flat[i]);
    const size = Number(flat[i + 5]);
    const check = size > MAX_INFO_BYTES ? { ok: false as const, why: `its description is ${size} bytes (at most ${MAX_INFO_BYTES})` } : checkEntry(id, String(flat[i + 4] ?? ''));
    if (!check.ok) {
      refused.push({ id, why: check.why });
      continue;
    }
    rows.push({ id, leaseExpiry: Number(flat[i + 1]), lastBeat: Number(flat[i + 2]), claimedBy: String(flat[i + 3] ?? ''), info: check.info });
  }
  return { now, rows, refused };
}

/** A registration id is `host/name#epoch`. */
export function epochOf(id: string): number {
  return parseRegistrationId(id)?.epoch ?? 0;
}

export function stateOf(row: RegistryRow, now: number): InstanceState {
  if (row.claimedBy !== '') return 'recovering';
  return row.leaseExpiry <= now ? 'lost' : 'live';
}

export function fleetView(now: number, rows: RegistryRow[]): FleetView {
  const instances = rows.map((r): FleetInstance => {
    const i = r.info;
    return {
      id: r.id,
      host: i.host ?? '?',
      name: i.name ?? '?',
      pid: i.pid ?? 0,
      pool: i.pool ?? '?',
      queues: i.queues ?? [],
      workers: i.workers ?? 0,
      busy: i.busy ?? 0,
      concurrency: i.concurrency ?? 0,
      utilization: i.utilization ?? null,
      heartbeatAgeSeconds: Math.max(0, Math.round((now - r.lastBeat) / 100) / 10),
      state: stateOf(r, now),
      epoch: epochOf(r.id),
      desired: i.desired ?? 0,
      version: i.version ?? '?',
      startedAt: i.startedAt ?? 0,
      ...(r.claimedBy ? { claimedBy: r.claimedBy } : {}),
    };
  });
  instances.sort((a, b) => a.host.localeCompare(b.host) || a.name.localeCompare(b.name) || a.epoch - b.epoch);
  return { instances };
}

/**
 * How many live instances listen to each queue (for dividing a shared backlog): every live or
 * lost-but-unclaimed registration counts, so a host that just missed a beat does not make the
 * others scale up for it at once.
 */
export function listenersByQueue(now: number, rows: RegistryRow[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of rows) {
    if (stateOf(r, now) === 'recovering') continue;
    for (const q of r.info.queues ?? []) out.set(q, (out.get(q) ?? 0) + 1);
  }
  return out;
}
