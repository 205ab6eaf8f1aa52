/**
 * The pool's place in the fleet: its registration (FleetMember) and, with --fleet-max-workers, its
 * slot leases (FleetCap), built from the config; and what a lost lease, a new registration and a
 * slot grant do to the pool's children and its scaling loop.
 */
import { hostname } from 'node:os';
import path from 'node:path';
import type { Clock } from '../clock.js';
import type { PoolConfig } from '../config/load.js';
import { FleetCap } from '../fleet/cap.js';
import { FleetMember, type InstanceFacts } from '../fleet/member.js';
import type { FleetInstance, InstanceInfo } from '../fleet/view.js';
import type { Logger } from '../logger.js';
import { sameQueues } from '../observe/pool-identity.js';
import type { ControlLoop } from '../scaling/control-loop.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { WorkerProcess } from '../supervisor/worker-process.js';
import { VERSION } from '../version.js';
import type { PoolParts, PoolState } from './state.js';

/** The instance's name in the fleet: its config file's base name (systemd's worker-pool@NAME), else the pool name. */
export function instanceName(c: PoolConfig): string {
  return c.configFile ? path.basename(c.configFile).replace(/\.ya?ml$/i, '') : c.name;
}

/** What this instance tells the fleet at each renewal. */
export function fleetFacts(config: PoolConfig, supervisor: Supervisor, loop: ControlLoop, clock: Clock, unsettledBases: readonly string[] = []): InstanceFacts {
  const workers = supervisor.workers();
  // The pod-level signal's input: the workers wanted at their highest over the window (or, before a
  // decision said, the size the pool is heading for).
  const wanted = loop.peakWanted(config.window * 1000) ?? supervisor.desired;
  return {
    queues: config.queues,
    workers: workers.length,
    busy: workers.reduce((n, w) => n + w.busySlots, 0),
    concurrency: config.concurrency,
    // Read without pruning the usage window: only the control loop and /status prune it.
    utilization: supervisor.usage.utilization(clock.now()),
    desired: supervisor.desired,
    demand: { workers: wanted, maxWorkers: config.maxWorkers },
    // Dead children whose jobs are still being handed back stay listed: a peer covers them if we die.
    childBases: [...workers.map((w) => `${w.tokenBase}:`), ...unsettledBases],
  };
}

/** With --fleet-max-workers, the cap: slot leases held under the registration, one per live child. */
export function fleetCapFor(c: PoolConfig, log: Logger, fleet: () => FleetMember, supervisor: () => Supervisor): FleetCap | undefined {
  if (c.fleetMaxWorkers === undefined) return undefined;
  return new FleetCap({
    client: () => fleet().redis,
    prefix: c.prefix,
    pool: c.name,
    max: c.fleetMaxWorkers,
    leaseMs: c.leaseSeconds * 1000,
    log,
    registration: () => (fleet().state === 'live' ? fleet().id : undefined),
    live: () => supervisor().workers().length,
    desired: () => supervisor().desired,
    mayGrow: () => fleet().mayGrow(),
  });
}

export interface MemberReports {
  facts: () => InstanceFacts;
  /** Hand back a dead registration's jobs (its `host/name`, queues and token bases). */
  recover: (host: string, queues: string[], tokenBases: string[], sinceMs: number) => Promise<number>;
}

export function fleetMemberFor(c: PoolConfig, clock: Clock, log: Logger, cap: FleetCap | undefined, reports: MemberReports): FleetMember {
  return new FleetMember({
    redisUrl: c.redisUrl,
    redis: c.redis,
    prefix: c.prefix,
    host: hostname(),
    name: instanceName(c),
    pool: c.name,
    pid: process.pid,
    version: VERSION,
    heartbeatMs: c.heartbeatSeconds * 1000,
    leaseMs: c.leaseSeconds * 1000,
    fleetMaxWorkers: c.fleetMaxWorkers,
    clock,
    log,
    facts: reports.facts,
    recover: (info: InstanceInfo, since) => reports.recover(`${info.host}/${info.name}`, info.queues, info.tokenBases, since),
    slots: cap ? { key: cap.key, max: cap.max, held: () => cap.heldMembers(), lost: (m) => cap.lost(m) } : undefined,
  });
}

/** How often a registered daemon looks for another pool under its name (at registration, then at most this often). */
const NAME_CHECK_MS = 60_000;

/**
 * Live instances of another pool under this pool's name: the same name (and prefix: one registry)
 * but other queues. Instances of one pool on several hosts share their queues and are no clash.
 */
export function nameClashes(self: { id: string | undefined; pool: string; queues: readonly string[] }, instances: readonly FleetInstance[]): FleetInstance[] {
  return instances.filter((i) => i.id !== self.id && i.pool === self.pool && i.state === 'live' && !sameQueues(i.queues, self.queues));
}

/** Warn once per other instance when an unrelated pool shares this pool's name on the fleet. */
function watchNameClashes(parts: PoolParts, state: PoolState): void {
  const { fleet, log, clock } = parts;
  const warned = new Set<string>();
  let lastCheck = -Infinity;
  const check = () => {
    if (state.stopping || clock.now() - lastCheck < NAME_CHECK_MS) return;
    lastCheck = clock.now();
    const c = state.config;
    void fleet
      .view()
      .then((view) => {
        for (const other of nameClashes({ id: fleet.id, pool: c.name, queues: c.queues }, view.instances)) {
          if (warned.has(other.id)) continue;
          warned.add(other.id);
          const here = `${hostname()}/${instanceName(c)} (pid ${process.pid}, queues ${c.queues.join(',')})`;
          const there = `${other.host}/${other.name} (pid ${other.pid}, queues ${other.queues.join(',')})`;
          log.warn(
            { pool: c.name, other: { host: other.host, name: other.name, pid: other.pid, queues: other.queues } },
            `fleet: two different pools are named "${c.name}" on this Redis and prefix: ${there} and this one, ${here}; they share --fleet-max-workers, /scaler and the fleet view (their histories are kept apart): give one another --name`,
          );
        }
      })
      .catch((err: Error) => log.debug({ err: err.message }, 'fleet: could not look for pools of the same name'));
  };
  fleet.on('registered', () => ((lastCheck = -Infinity), check()));
  fleet.on('renewed', check);
}

/** Stop `n` children at once (the least busy first): the fence, enforced by the supervisor too. */
function stopWorkers(supervisor: Supervisor, n: number): number {
  const rank = (w: WorkerProcess) => (w.state === 'starting' ? -1 : w.busySlots);
  const victims = supervisor.workers().filter((w) => w.alive).sort((a, b) => rank(a) - rank(b)).slice(0, Math.max(0, n));
  for (const w of victims) {
    w.stopReason = 'fenced';
    w.kill('SIGKILL');
  }
  return victims.length;
}

/** What a lost lease, a new registration, a slot grant and a lost slot do to the pool; and a warning when another pool shares its name. */
export function wireFleet(parts: PoolParts, state: PoolState): void {
  const { fleet, fleetCap: cap, supervisor, loop, log } = parts;
  watchNameClashes(parts, state);
  // Every renewal moves each child's deadline on; a child that hears of none stops itself.
  fleet.on('lease', ({ until }) => supervisor.extendLeases(until));
  fleet.on('fenced', () => {
    // Our slots and jobs may go to others once our lease runs out in Redis: every worker stops
    // now. The children stop themselves at the same deadline; this also ends one whose event loop
    // a job keeps blocked. Their jobs are handed back once a renewal gets through, or by a peer.
    cap?.dropAll();
    const n = stopWorkers(supervisor, Infinity);
    if (n > 0) log.warn({ workers: n }, 'fleet: lease lost; every worker stopped before its slot or jobs can be given to another host');
  });
  cap?.on('lost', (held) => {
    // Another host may run in the lost slots now: the children beyond what we hold stop at once
    // (their jobs are handed back, no stall counted); their slots are filled again once granted.
    const n = stopWorkers(supervisor, supervisor.workers().filter((w) => w.alive).length - held);
    if (n > 0) log.warn({ workers: n, held }, 'fleet cap: workers stopped for slots lost behind our back');
  });
  fleet.on('registered', ({ previous, carried }) => {
    // A peer claimed our old registration and is handing its jobs back: its children's tokens are
    // no longer trusted. They stop taking jobs once successors under the new epoch are ready.
    if (previous !== undefined && !carried && !state.stopping) {
      const n = supervisor.replaceAll('fenced');
      if (n > 0) log.warn({ workers: n, previous }, 'fleet: old registration was claimed by a peer; replacing its workers under the new epoch');
    }
    if (!state.stopping) supervisor.reconcile();
    void cap?.sync().catch(() => undefined);
  });
  fleet.on('unfenced', () => !state.stopping && supervisor.reconcile());
  fleet.on('renewed', () => void cap?.sync().catch((err: Error) => log.debug({ err: err.message }, 'fleet cap: slot sync failed')));
  cap?.on('granted', (held) => {
    if (state.stopping || !loop.running) return;
    // A decision held for lack of a slot goes ahead now, without waiting for the next period.
    const want = Math.min(cap.wanted, held, loop.limits.maxWorkers);
    if (want > supervisor.desired) supervisor.setDesired(want);
    else supervisor.reconcile();
  });
}
