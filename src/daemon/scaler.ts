/**
 * The pod-level signal for a pod autoscaler: `GET /scaler` answers `{ "desiredPods": N, … }` (KEDA's
 * metrics-api trigger, `valueLocation: desiredPods`, `targetValue: 1`) and the gauge
 * worker_pool_fleet_desired_pods carries the same (a Prometheus trigger). Both read the fleet
 * registry from Redis at each request, so every pod of the fleet answers the same (fleet/pods.ts).
 */
import { Gauge, type Registry } from 'prom-client';
import type { PoolConfig } from '../config/load.js';
import type { FleetMember } from '../fleet/member.js';
import { podSignal, type PodSignal } from '../fleet/pods.js';
import { json, text, type Handler } from '../http/server.js';

type Listing = Pick<FleetMember, 'listing'>;

export function readPodSignal(fleet: Listing, config: () => PoolConfig): Promise<PodSignal> {
  return fleet.listing().then((listing) => {
    const c = config();
    return podSignal(listing, { pool: c.name, maxWorkers: c.maxWorkers, fleetMaxWorkers: c.fleetMaxWorkers });
  });
}

/** `GET /scaler`; 503 when the registry cannot be read (KEDA then keeps the replicas, or its `fallback`). */
export function scalerRoute(fleet: Listing, config: () => PoolConfig): Handler {
  return async (ctx) => {
    try {
      return json(ctx, 200, await readPodSignal(fleet, config));
    } catch (err) {
      return text(ctx, 503, `fleet registry unreachable: ${(err as Error).message}\n`);
    }
  };
}

/** worker_pool_fleet_desired_pods{pool}: absent from a scrape that cannot read the registry (never a false 0). */
export function registerScalerMetric(registry: Registry, fleet: Listing, config: () => PoolConfig): void {
  new Gauge({
    name: 'worker_pool_fleet_desired_pods',
    help: "Pods the whole fleet of this pool needs (its instances' wanted workers ÷ one pod's max-workers, within fleet-max-workers), read from the registry in Redis: the same on every pod.",
    labelNames: ['pool'],
    registers: [registry],
    async collect() {
      this.reset();
      const signal = await readPodSignal(fleet, config).catch(() => undefined);
      if (signal) this.set({ pool: signal.pool }, signal.desiredPods);
    },
  });
}
