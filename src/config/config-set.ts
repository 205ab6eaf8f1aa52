/**
 * Checks across the instances of one host (`check-config /etc/worker-pool/*.yml`): what is fine
 * in each file alone but wrong together. Pure: takes loaded configs, returns one line per problem.
 */
import type { PoolConfig } from './load.js';

export interface InstanceConfig {
  file: string;
  config: PoolConfig;
  /** Where its routing rules send each job type of its processor's catalog (none without a catalog). */
  routes?: ReadonlyArray<{ jobType: string; queue: string }>;
}

const WILDCARD_HOSTS = new Set(['0.0.0.0', '::', '[::]', '']);

function sharesAddress(a: PoolConfig, b: PoolConfig): boolean {
  if (a.metricsPort === 0 || a.metricsPort !== b.metricsPort) return false;
  return a.metricsHost === b.metricsHost || WILDCARD_HOSTS.has(a.metricsHost) || WILDCARD_HOSTS.has(b.metricsHost);
}

/** Queues are the same queue when the Redis and the key prefix are the same. */
function redisKey(c: PoolConfig): string {
  return `${c.redisUrl} ${c.prefix}`;
}

export function checkConfigSet(instances: readonly InstanceConfig[]): string[] {
  const problems: string[] = [];
  for (let i = 0; i < instances.length; i++) {
    for (let j = i + 1; j < instances.length; j++) {
      const a = instances[i]!;
      const b = instances[j]!;
      if (a.config.name === b.config.name) {
        problems.push(`name: ${a.file} and ${b.file} are both pool "${a.config.name}"; each instance needs its own name (logs, metrics and process titles would mix)`);
      }
      if (sharesAddress(a.config, b.config)) {
        problems.push(`metrics-port: ${a.file} and ${b.file} both use port ${a.config.metricsPort}; give each instance its own metrics-port`);
      }
    }
  }
  // A queue with a global limit must have the same limit in every instance that listens to it:
  // the pools would otherwise keep setting different values in Redis.
  const listeners = new Map<string, Array<{ file: string; limit: number | undefined }>>();
  for (const { file, config } of instances) {
    for (const queue of config.queues) {
      const key = `${redisKey(config)} ${queue}`;
      const list = listeners.get(key) ?? [];
      list.push({ file, limit: Object.hasOwn(config.globalConcurrency, queue) ? config.globalConcurrency[queue] : undefined });
      listeners.set(key, list);
    }
  }
  for (const [key, list] of listeners) {
    const limits = new Set(list.map((l) => l.limit));
    if (limits.size <= 1 || list.every((l) => l.limit === undefined)) continue;
    const queue = key.slice(key.lastIndexOf(' ') + 1);
    const shown = list.map((l) => `${l.limit ?? 'none'} in ${l.file}`).join(', ');
    problems.push(`global-concurrency: queue "${queue}" has different limits (${shown}); every instance that listens to it must set the same one`);
  }
  // Given the whole set (more than one file), a queue the routing rules send jobs to must have a listener.
  if (instances.length > 1) {
    const unserved = new Map<string, { queue: string; jobTypes: Set<string>; file: string }>();
    for (const { file, config, routes } of instances) {
      for (const route of routes ?? []) {
        const key = `${redisKey(config)} ${route.queue}`;
        if (listeners.has(key)) continue;
        const entry = unserved.get(key) ?? { queue: route.queue, jobTypes: new Set<string>(), file };
        entry.jobTypes.add(route.jobType);
        unserved.set(key, entry);
      }
    }
    for (const { queue, jobTypes, file } of unserved.values()) {
      problems.push(`routing-rules: queue "${queue}" (job types ${[...jobTypes].join(', ')}, routed by ${file}) has no instance listening to it; its jobs would wait forever`);
    }
  }
  return problems;
}
