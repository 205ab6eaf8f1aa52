/**
 * What a reload (SIGHUP) does with each changed setting. Pure: compares two validated configs.
 *   live     applies at once (scaling limits, window, timeouts, log level, global concurrency)
 *   workers  needs new worker processes, started one at a time (concurrency, queues, processor…)
 *   restart  cannot change in a running daemon (its Redis, HTTP address, name): kept, with a warning
 */
import type { PoolConfig } from './load.js';

type Key = keyof PoolConfig;

const LIVE: readonly Key[] = ['minWorkers', 'maxWorkers', 'utilizationThreshold', 'scalingPeriod', 'window', 'stopTimeout', 'maxJobsPerWorker', 'maxMemoryMb', 'logLevel', 'globalConcurrency'];
/** They act through the queues they resolve to (`queues`, computed before the plan): listed, never a reason by themselves. */
const VIA_QUEUES: readonly Key[] = ['queueSelector', 'routingRules'];
const WORKERS: readonly Key[] = ['queues', 'processor', 'concurrency', 'sampleInterval'];
const RESTART: readonly Key[] = ['name', 'redisUrl', 'prefix', 'metricsHost', 'metricsPort', 'metricsQueues', 'logFormat', 'embeddedRedis', 'policy', 'maxStep', 'stabilizationWindow', 'memoryBudgetMb'];

export interface ReloadPlan {
  /** Option keys (kebab-case, as in the file) whose value changed and will be applied. */
  changed: string[];
  /** Changed keys that only a restart applies; their old values are kept. */
  needRestart: string[];
  /** New worker processes are needed (replaced one at a time). */
  replaceWorkers: boolean;
  /** The config to run with: the new one, with the restart-only keys of the old one. */
  effective: PoolConfig;
}

function kebab(key: string): string {
  return key.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function planReload(old: PoolConfig, next: PoolConfig): ReloadPlan {
  const changed: string[] = [];
  const needRestart: string[] = [];
  const effective: PoolConfig = { ...next, configFile: old.configFile };
  for (const key of RESTART) {
    if (same(old[key], next[key])) continue;
    needRestart.push(kebab(key));
    (effective as unknown as Record<string, unknown>)[key] = old[key];
  }
  for (const key of [...LIVE, ...VIA_QUEUES, ...WORKERS]) if (!same(old[key], next[key])) changed.push(kebab(key));
  const limited = (c: PoolConfig) => Object.keys(c.globalConcurrency).sort();
  // Workers wake each other after jobs of limited queues, so a new set of them needs new workers too.
  const replaceWorkers = WORKERS.some((k) => !same(old[k], next[k])) || !same(limited(old), limited(next));
  return { changed, needRestart, replaceWorkers, effective };
}
