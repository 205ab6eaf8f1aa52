/**
 * What a reload (SIGHUP) does with each changed setting. Pure: compares two validated configs.
 *   live     applies at once (scaling limits, window, stop timeout, log level, global concurrency)
 *   workers  needs new worker processes, started one at a time (concurrency, queues, processor,
 *            job time limit, lock and stall settings)
 *   restart  cannot change in a running daemon (its Redis, HTTP address, name, policy, start
 *            back-off): kept, with a warning
 */
import type { PoolConfig } from './load.js';

type Key = keyof PoolConfig;

/** What a changed key does on reload; `via-queues` keys act through the queues they resolve to. */
export type ReloadEffect = 'live' | 'via-queues' | 'workers' | 'restart' | 'never-changes';

/**
 * Every key of the config, each with its one effect (the type makes a new key choose one).
 * Listed in the order `changed` reports them.
 */
const EFFECT: Record<Key, ReloadEffect> = {
  minWorkers: 'live',
  maxWorkers: 'live',
  utilizationThreshold: 'live',
  scalingPeriod: 'live',
  window: 'live',
  stopTimeout: 'live',
  // Read when a stop begins.
  stopBudget: 'live',
  maxJobsPerWorker: 'live',
  maxMemoryMb: 'live',
  logLevel: 'live',
  globalConcurrency: 'live',
  // The watchdog reads it at every look.
  stuckSeconds: 'live',
  // Computed into `queues` before the plan: listed, never a reason by themselves.
  queueSelector: 'via-queues',
  routingRules: 'via-queues',
  queues: 'workers',
  processor: 'workers',
  concurrency: 'workers',
  sampleInterval: 'workers',
  // A worker reads these once, when it starts (its BullMQ Workers and its time limit).
  jobTimeout: 'workers',
  lockDuration: 'workers',
  stalledInterval: 'workers',
  maxStalledCount: 'workers',
  name: 'restart',
  redisUrl: 'restart',
  redisPasswordFile: 'restart',
  redisSentinels: 'restart',
  redisSentinelName: 'restart',
  redisSentinelPasswordFile: 'restart',
  redisClusterNodes: 'restart',
  redis: 'restart',
  prefix: 'restart',
  metricsHost: 'restart',
  metricsPort: 'restart',
  metricsQueues: 'restart',
  logFormat: 'restart',
  embeddedRedis: 'restart',
  policy: 'restart',
  maxStep: 'restart',
  stabilizationWindow: 'restart',
  memoryBudgetMb: 'restart',
  targetWait: 'restart',
  cpuGuard: 'restart',
  // The supervisor's restart back-off is built once, at start.
  startSeconds: 'restart',
  startRetries: 'restart',
  fatalCooldown: 'restart',
  // The HTTP server is built once, at start, with its access file and event stream limits.
  httpConfig: 'restart',
  httpInsecure: 'restart',
  jobBoard: 'restart',
  eventsPayloads: 'restart',
  eventsMaxClients: 'restart',
  // The fleet registration and its cap are set up once, at start.
  heartbeatSeconds: 'restart',
  leaseSeconds: 'restart',
  fleetMaxWorkers: 'restart',
  configFile: 'never-changes',
  // Read from http-config; the server keeps the one it started with.
  httpAccess: 'never-changes',
};

const keysWith = (effect: ReloadEffect) => (Object.keys(EFFECT) as Key[]).filter((k) => EFFECT[k] === effect);
const LIVE = keysWith('live');
const VIA_QUEUES = keysWith('via-queues');
const WORKERS = keysWith('workers');
const RESTART = keysWith('restart');

/** The effect on reload of an option, by its kebab-case key (undefined: command-line only, e.g. `config`). */
export function reloadEffect(optionKey: string): ReloadEffect | undefined {
  const key = optionKey.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase()) as Key;
  return Object.hasOwn(EFFECT, key) ? EFFECT[key] : undefined;
}

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
  // The fleet lease is set at start and must stay below the lock: a lock it would not stay below
  // (a new lock-duration whose derived lease differs from the running one) waits for a restart too.
  if (effective.leaseSeconds >= effective.lockDuration) {
    needRestart.push('lock-duration');
    effective.lockDuration = old.lockDuration;
  }
  for (const key of [...LIVE, ...VIA_QUEUES, ...WORKERS]) if (!same(old[key], effective[key])) changed.push(kebab(key));
  const limited = (c: PoolConfig) => Object.keys(c.globalConcurrency).sort();
  // Workers wake each other after jobs of limited queues, so a new set of them needs new workers too.
  const replaceWorkers = WORKERS.some((k) => !same(old[k], effective[k])) || !same(limited(old), limited(effective));
  return { changed, needRestart, replaceWorkers, effective };
}
