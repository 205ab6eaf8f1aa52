/**
 * The pod-level signal of a fleet (GET /scaler, the gauge worker_pool_fleet_desired_pods): how many
 * pods one pool needs, computed from the registry alone, so that every pod of the fleet that reads it
 * at the same moment answers the same. Each live instance of the pool publishes the workers its
 * policy wants, at their highest over its window (`demand`); their sum divided by one pod's
 * max-workers, rounded up, is the answer, within what --fleet-max-workers lets run. Because every
 * instance's figure is its highest over the window, the answer rises as soon as one instance wants
 * more, and falls only once a whole pod's worth of workers has not been wanted for a whole window.
 * Pure: times come from Redis.
 */
import { stateOf, type RegistryRow } from './view.js';

export interface PodSignal {
  pool: string;
  /** Pods the pool needs: what KEDA's metrics-api trigger (targetValue 1) turns into replicas. */
  desiredPods: number;
  /** Workers the pool's live instances want together (each at its highest over its window). */
  demandWorkers: number;
  /** One pod's --max-workers (the largest a live instance reports). */
  maxWorkersPerPod: number;
  /** Live instances of the pool in the registry now. */
  currentPods: number;
  /** The fleet's cap, if any, and the pods it lets work. */
  fleetMaxWorkers: number | null;
  maxPods: number | null;
  reason: string;
  /** Redis' time of the listing it was read from (epoch ms). */
  at: number;
  instances: Array<{ id: string; demandWorkers: number; maxWorkers: number | null }>;
}

/** What this daemon knows of its own pool, for a registry that holds none of it yet (just started). */
export interface OwnPool {
  pool: string;
  maxWorkers: number;
  fleetMaxWorkers: number | undefined;
}

const isCount = (x: unknown, min: number): x is number => typeof x === 'number' && Number.isInteger(x) && x >= min && x <= 1_000_000;

export function podSignal(listing: { now: number; rows: RegistryRow[] }, own: OwnPool): PodSignal {
  const live = listing.rows.filter((r) => r.info.pool === own.pool && stateOf(r, listing.now) === 'live');
  const instances = live.map((r) => {
    const d = r.info.demand;
    const valid = d !== undefined && isCount(d.workers, 0) && isCount(d.maxWorkers, 1);
    // A registration without a (valid) demand, e.g. an older daemon's during a rollout: what it runs for.
    const desired = isCount(r.info.desired, 0) ? r.info.desired : 0;
    return { id: r.id, demandWorkers: valid ? d.workers : desired, maxWorkers: valid ? d.maxWorkers : null };
  });
  const perPod = Math.max(0, ...instances.map((i) => i.maxWorkers ?? 0)) || own.maxWorkers;
  const demand = instances.reduce((n, i) => n + i.demandWorkers, 0);
  const caps = live.map((r) => r.info.fleetMaxWorkers).filter((x): x is number => isCount(x, 1));
  const fleetMax = live.length > 0 ? (caps.length > 0 ? Math.min(...caps) : null) : (own.fleetMaxWorkers ?? null);
  const maxPods = fleetMax !== null ? Math.ceil(fleetMax / perPod) : null;
  const wanted = Math.ceil(demand / perPod);
  const desiredPods = maxPods !== null ? Math.min(wanted, maxPods) : wanted;
  const said = `${demand} workers wanted by ${live.length} pod${live.length === 1 ? '' : 's'} (each at its highest over its window), ${perPod} per pod`;
  const reason = desiredPods < wanted ? `${said}: ${wanted} pods, capped at ${desiredPods} by fleet-max-workers ${fleetMax}` : `${said}: ${desiredPods} pod${desiredPods === 1 ? '' : 's'}`;
  return { pool: own.pool, desiredPods, demandWorkers: demand, maxWorkersPerPod: perPod, currentPods: live.length, fleetMaxWorkers: fleetMax, maxPods, reason, at: listing.now, instances };
}
