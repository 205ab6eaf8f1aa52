/**
 * Builds a pool's configuration: defaults < config file < WORKER_POOL_* environment < flags, parsed
 * and validated; files it names (passwords, the HTTP access file) are read by secret-files.ts.
 * Every problem is a ConfigError with one line naming the key, the value and what is allowed.
 */
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { requireAuthOffLoopback, type HttpAccess } from './http-access.js';
import { hasHashTag, parseEndpoints, type RedisTarget } from '../redis/connection.js';
import type { RoutingRule } from '../routing/rules.js';
import { fleetTiming } from './fleet-timing.js';
import { normalizeRedisUrl, redactUrl } from '../secrets.js';
import { closest } from '../suggest.js';
import { readConfigFile, type RawValues } from './config-file.js';
import { ConfigError, OPTIONS, envName, parseValue, type OptionSpec, type Source } from './schema.js';
import { exitMarginSeconds, stopTimeoutWithin } from './stop-budget.js';

export { redactUrl } from '../secrets.js';
export { fileKeys, readConfigFile, type RawValues } from './config-file.js';

export interface PoolConfig {
  name: string;
  configFile: string | undefined;
  redisUrl: string;
  redisSentinels: string[] | undefined;
  redisSentinelName: string;
  redisSentinelPasswordFile: string | undefined;
  redisClusterNodes: string[] | undefined;
  /** Where Redis is, in every mode (standalone, Sentinel, Cluster), with the passwords read from their files. */
  redis: RedisTarget;
  prefix: string;
  /** Queues named outright; empty when only `queue-selector` says which queues to take from. */
  queues: string[];
  queueSelector: string | undefined;
  /** Undefined when not configured (then every job type goes to its generated queue). */
  routingRules: RoutingRule[] | undefined;
  /** Queue → most jobs running at once across every pool on the Redis (BullMQ global concurrency). */
  globalConcurrency: Record<string, number>;
  /** Absolute path, or undefined when not set (the demo provides its own). */
  processor: string | undefined;
  concurrency: number;
  minWorkers: number;
  maxWorkers: number;
  /** Seconds, like every duration in the configuration. */
  scalingPeriod: number;
  window: number;
  utilizationThreshold: number;
  policy: 'threshold' | 'adaptive' | 'latency';
  targetWait: number;
  cpuGuard: boolean;
  maxStep: number;
  stabilizationWindow: number;
  memoryBudgetMb: number | undefined;
  sampleInterval: number;
  stopTimeout: number;
  /** The platform's seconds from SIGTERM to SIGKILL, if given; stopTimeout then fits in it (stop-budget.ts). */
  stopBudget: number | undefined;
  maxJobsPerWorker: number | undefined;
  maxMemoryMb: number | undefined;
  startSeconds: number;
  startRetries: number;
  fatalCooldown: number;
  jobTimeout: number | undefined;
  lockDuration: number;
  stalledInterval: number;
  maxStalledCount: number;
  /** Fleet registration: renewed every heartbeat, dead after a lease (seconds); derived when not written (fleet-timing.ts). */
  heartbeatSeconds: number;
  leaseSeconds: number;
  /** Most workers of this pool name across the fleet; undefined: no cap. */
  fleetMaxWorkers: number | undefined;
  redisPasswordFile: string | undefined;
  stuckSeconds: number;
  metricsHost: string;
  metricsPort: number;
  httpConfig: string | undefined;
  httpInsecure: boolean;
  /** Who sees the job board at /jobs: credentials with role read (auth), also clients without (open), nobody (off). */
  jobBoard: 'auth' | 'open' | 'off';
  eventsPayloads: boolean;
  eventsMaxClients: number;
  /** The HTTP access file, read and checked (undefined without --http-config, or when this process cannot read it: the daemon reads it at start). */
  httpAccess: HttpAccess | undefined;
  /** Queues (the first listed) with their own `queue` label in the metrics; the rest are `_other`. */
  metricsQueues: number;
  logLevel: string;
  logFormat: 'json' | 'pretty' | undefined;
  embeddedRedis: boolean;
}

export interface LoadInput {
  flags?: RawValues;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Require a processor (true for `start` and `check-config`). */
  requireProcessor?: boolean;
}

function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function loadConfig(input: LoadInput = {}): PoolConfig {
  const flags = input.flags ?? {};
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();

  // Reject WORKER_POOL_* variables that name no option: a typo there would otherwise be silent.
  const known = new Set(OPTIONS.map((o) => envName(o.key)));
  for (const name of Object.keys(env)) {
    if (name.startsWith('WORKER_POOL_') && !known.has(name)) {
      const guess = closest(name, [...known]);
      throw new ConfigError(`${name}: unknown variable; ${guess ? `did you mean ${guess}?` : `each option X-Y is WORKER_POOL_X_Y (e.g. ${envName('min-workers')})`}`);
    }
  }

  const configRaw = flags['config'] ?? env[envName('config')];
  const configFile = typeof configRaw === 'string' && configRaw !== '' ? path.resolve(cwd, configRaw) : undefined;
  const fileValues = configFile ? readConfigFile(configFile) : {};

  const values: Record<string, unknown> = {};
  const sources: Record<string, Source> = {};
  for (const spec of OPTIONS) {
    const pick = pickRaw(spec, flags, env, fileValues);
    if (pick) {
      values[spec.key] = parseValue(spec, pick.raw, pick.source, configFile);
      sources[spec.key] = pick.source;
    } else if (spec.key === 'redis-url' && env['REDIS_URL']) {
      values[spec.key] = parseValue(spec, env['REDIS_URL'], 'env');
      sources[spec.key] = 'env';
    } else if (spec.default !== undefined) {
      values[spec.key] = spec.default;
      sources[spec.key] = 'default';
    }
  }

  const cfg = Object.fromEntries(Object.entries(values).map(([k, v]) => [camel(k), v])) as Partial<PoolConfig>;
  const config: PoolConfig = {
    ...(cfg as PoolConfig),
    configFile,
    name: (values['name'] as string | undefined) ?? (configFile ? path.basename(configFile).replace(/\.ya?ml$/i, '') : 'default'),
    processor: undefined,
    embeddedRedis: values['embedded-redis'] === true,
  };

  // A selector alone decides the queues; `queues` given as well adds to them (e.g. an old queue while migrating).
  if (config.queueSelector !== undefined && sources['queues'] === 'default') config.queues = [];

  if (!/^[A-Za-z0-9_.@-]{1,64}$/.test(config.name)) {
    throw new ConfigError(`name: ${JSON.stringify(config.name)} is not allowed; expected 1–64 letters, digits, '_', '-', '.' or '@'`);
  }
  if (config.minWorkers > config.maxWorkers) {
    throw new ConfigError(`min-workers: ${config.minWorkers} is not allowed; it must be ≤ max-workers (${config.maxWorkers})`);
  }
  if (config.window < config.scalingPeriod) {
    throw new ConfigError(`window: ${config.window} is not allowed; it must be ≥ scaling-period (${config.scalingPeriod})`);
  }
  Object.assign(config, fleetTiming({ lockDuration: config.lockDuration, leaseSeconds: values['lease-seconds'] as number | undefined, heartbeatSeconds: values['heartbeat-seconds'] as number | undefined, lockDurationGiven: sources['lock-duration'] !== 'default' }));
  fitStopInBudget(config, sources['stop-timeout'] ?? 'default');
  // With a selector the pool's queues are known only once the processor's job types are: checked then.
  if (config.queueSelector === undefined) checkLimitedQueues(config);
  config.redisUrl = normalizeRedisUrl(config.redisUrl);
  checkRedisUrl(config.redisUrl, sources['redis-url'] ?? 'default');
  // An access file named here is read with the other secret files (secret-files.ts); its presence counts now.
  requireAuthOffLoopback(config, config.httpConfig !== undefined);
  config.httpAccess = undefined;
  config.redis = redisTarget(config);

  const processorRaw = values['processor'] as string | undefined;
  if (processorRaw !== undefined) {
    const base = sources['processor'] === 'file' && configFile ? path.dirname(configFile) : cwd;
    const resolved = path.resolve(base, processorRaw);
    if (!existsSync(resolved) || !statSync(resolved).isFile()) {
      throw new ConfigError(`processor: ${JSON.stringify(processorRaw)} is not allowed; no such file (${resolved}); expected a path to a .js, .mjs or .cjs module`);
    }
    config.processor = resolved;
  } else if (input.requireProcessor) {
    throw new ConfigError(`processor: missing; set --processor FILE, ${envName('processor')} or "processor:" in the config file`);
  }
  return config;
}

/**
 * With a stop budget, the stop-timeout is what the budget leaves when not given, and must fit in it
 * when given: a stop-timeout past the platform's kill is a contradiction the user wrote.
 */
function fitStopInBudget(config: PoolConfig, source: Source): void {
  const budget = config.stopBudget;
  if (budget === undefined) return;
  const fits = stopTimeoutWithin(budget);
  if (source === 'default') config.stopTimeout = fits;
  else if (config.stopTimeout > fits) {
    throw new ConfigError(`stop-timeout: ${config.stopTimeout} is not allowed with stop-budget ${budget}; a stop must end ${exitMarginSeconds(budget)} s before the platform's kill, so it must be ≤ ${fits} (or leave it out: the budget sets it)`);
  }
}

/** Every queue with a global-concurrency limit must be one the pool listens to. */
export function checkLimitedQueues(config: Pick<PoolConfig, 'queues' | 'globalConcurrency'>): void {
  for (const queue of Object.keys(config.globalConcurrency)) {
    if (!config.queues.includes(queue)) {
      throw new ConfigError(`global-concurrency: queue ${JSON.stringify(queue)} is not allowed; it must be one of this pool's queues (${config.queues.join(', ')})`);
    }
  }
}

function pickRaw(spec: OptionSpec, flags: RawValues, env: NodeJS.ProcessEnv, file: RawValues): { raw: unknown; source: Source } | undefined {
  if (flags[spec.key] !== undefined) return { raw: flags[spec.key], source: 'flag' };
  const fromEnv = env[envName(spec.key)];
  if (fromEnv !== undefined && fromEnv !== '' && spec.key !== 'config') return { raw: fromEnv, source: 'env' };
  if (file[spec.key] !== undefined) return { raw: file[spec.key], source: 'file' };
  return undefined;
}

function checkRedisUrl(url: string, source: Source): void {
  let parsed: URL | undefined;
  try {
    parsed = new URL(url);
  } catch {
    parsed = undefined;
  }
  if (!parsed || !['redis:', 'rediss:'].includes(parsed.protocol)) {
    const where = source === 'flag' ? '--redis-url' : source === 'env' ? 'redis-url (from the environment)' : 'redis-url';
    throw new ConfigError(`${where}: ${JSON.stringify(redactUrl(url))} is not allowed; expected redis://[user:password@]host[:port][/db] or rediss://…`);
  }
}

/**
 * The connection settings of every mode, checked: endpoints are HOST:PORT, Sentinel and Cluster
 * exclude each other, and in a cluster the prefix holds a {hash tag} (BullMQ's scripts touch many
 * keys of a queue at once, which a cluster allows only within one slot).
 */
function redisTarget(c: PoolConfig): RedisTarget {
  const endpoints = (key: string, raw: string[] | undefined) => {
    if (raw === undefined) return undefined;
    const parsed = parseEndpoints(raw);
    if (!parsed) throw new ConfigError(`${key}: ${JSON.stringify(raw.join(','))} is not allowed; expected HOST:PORT[,HOST:PORT…]`);
    return parsed;
  };
  const sentinels = endpoints('redis-sentinels', c.redisSentinels);
  const clusterNodes = endpoints('redis-cluster-nodes', c.redisClusterNodes);
  if (sentinels && clusterNodes) throw new ConfigError('redis-cluster-nodes: not allowed together with redis-sentinels; a pool uses Sentinel or Cluster, not both');
  if (clusterNodes && !hasHashTag(c.prefix)) {
    throw new ConfigError(`prefix: ${JSON.stringify(c.prefix)} is not allowed with redis-cluster-nodes; expected a prefix with a {hash tag}, e.g. "{${c.prefix}}", so that each queue's keys stay in one cluster slot`);
  }
  const target: RedisTarget = { url: c.redisUrl };
  if (sentinels) {
    target.sentinels = sentinels;
    target.sentinelName = c.redisSentinelName;
  }
  if (clusterNodes) target.clusterNodes = clusterNodes;
  return target;
}
