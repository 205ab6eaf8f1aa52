/**
 * Metrics of the pool's view of Redis: failovers and reconnections of the supervisor's connection,
 * the children's failed fetches, and BullMQ's eviction-policy warning as a gauge.
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { RedisWatch } from '../redis/redis-watch.js';
import type { FetchHealth } from '../supervisor/fetch-health.js';

/** Counters read from their owners when scraped: they never reset while the supervisor lives. */
function countFrom(registry: Registry, name: string, help: string, read: () => number): void {
  new Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

export function registerRedisMetrics(registry: Registry, watch: RedisWatch, fetches: FetchHealth): void {
  countFrom(registry, 'worker_pool_redis_failovers_total', 'Times the supervisor found a different Redis master after reconnecting (Sentinel, Cluster, DNS).', () => watch.failovers);
  countFrom(registry, 'worker_pool_redis_reconnections_total', "Times the supervisor's Redis connection was made again after it was lost.", () => watch.reconnections);
  countFrom(registry, 'worker_pool_fetch_errors_total', 'Job fetches of the workers that failed (READONLY, NOPERM, Redis down), from their samples.', () => fetches.total);
  new Gauge({
    name: 'worker_pool_redis_eviction_policy_unsafe',
    help: '1 when Redis maxmemory-policy is not noeviction (Redis may evict job keys), labelled with the policy; 0 when it is.',
    labelNames: ['policy'],
    registers: [registry],
    collect() {
      this.reset();
      const p = watch.evictionPolicy;
      if (p !== undefined) this.set({ policy: p }, p === 'noeviction' ? 0 : 1);
    },
  });
}
