/**
 * What `routes`, `migrate-jobs` and `enqueue --job` need to know about routing, read the way the
 * services read it: the pool config files (one per instance), the catalog of job types from their
 * processor (loaded in a throwaway child), and the routing rules they share.
 */
import type { RedisTarget } from '../redis/connection.js';
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { PoolConfig, RawValues } from '../config/load.js';
import { loadWithSecrets } from '../config/secret-files.js';
import { ConfigError } from '../config/schema.js';
import type { JobType } from '../routing/job-type.js';
import { DEFAULT_RULES_RAW, parseRules, poolQueues, requireRoutes, RuleError, type Route, type RoutingRule } from '../routing/rules.js';
import { checkProcessorLoads } from '../supervisor/check-processor.js';

export interface Instance {
  name: string;
  file: string;
  queues: string[];
}

export interface RoutingSetup {
  redisUrl: string;
  /** Where Redis is, in every mode. */
  redis: RedisTarget;
  prefix: string;
  catalog: JobType[];
  rules: RoutingRule[];
  routes: Map<string, Route>;
  instances: Instance[];
}

export interface SetupInput {
  /** A directory of pool configs (*.yml, *.yaml): every instance. */
  configDir?: string;
  /** One pool config. */
  config?: string;
  /** Overrides of what the files say. */
  processor?: string;
  routingRules?: string;
  redisUrl?: string;
  redisSentinels?: string;
  redisSentinelName?: string;
  redisClusterNodes?: string;
  prefix?: string;
}

function configFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch (err) {
    throw new ConfigError(`config-dir: cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  const files = names.filter((n) => /\.ya?ml$/i.test(n)).sort().map((n) => path.join(dir, n)).filter((f) => statSync(f).isFile());
  if (files.length === 0) throw new ConfigError(`config-dir: ${dir} holds no pool config (*.yml, *.yaml)`);
  return files;
}

function sameRules(a: readonly RoutingRule[], b: readonly RoutingRule[]): boolean {
  return JSON.stringify(a.map((r) => [r.selector, r.destination])) === JSON.stringify(b.map((r) => [r.selector, r.destination]));
}

/**
 * `needCatalog: false` (routes): a processor that declares no job types, or none named at all, is
 * a setup of plain queues: the catalog is empty and only the instances' queues are known.
 */
export async function loadRoutingSetup(input: SetupInput, opts: { needCatalog?: boolean } = {}): Promise<RoutingSetup> {
  const needCatalog = opts.needCatalog ?? true;
  const files = input.configDir ? configFiles(input.configDir) : input.config ? [input.config] : [];
  // The files as the services read them, but with this shell's REDIS_URL as the last fallback.
  const env = redisEnv();
  const flags: RawValues = redisFlags(input);
  if (input.prefix !== undefined) flags['prefix'] = input.prefix;
  if (input.processor !== undefined) flags['processor'] = input.processor;
  if (input.routingRules !== undefined) flags['routing-rules'] = input.routingRules;
  const configs: PoolConfig[] = files.length > 0 ? files.map((f) => loadWithSecrets({ flags: { ...flags, config: f }, env })) : [loadWithSecrets({ flags, env })];

  const first = configs[0]!;
  for (const c of configs.slice(1)) {
    if (JSON.stringify(c.redis) !== JSON.stringify(first.redis) || c.prefix !== first.prefix) {
      throw new ConfigError(`redis-url/prefix: ${c.configFile} and ${first.configFile} point at different queues; routing needs one Redis and one prefix`);
    }
  }

  const processor = configs.find((c) => c.processor)?.processor;
  if (!processor && !needCatalog) {
    const instances = files.length > 0 ? configs.map((c) => ({ name: c.name, file: c.configFile!, queues: [...c.queues] })) : [];
    return { redisUrl: first.redisUrl, redis: first.redis, prefix: first.prefix, catalog: [], rules: parseRules(DEFAULT_RULES_RAW), routes: new Map(), instances };
  }
  if (!processor) throw new ConfigError('processor: missing; routing needs the catalog of job types, which the processor module declares (set "processor:" in the config, or --processor FILE)');
  const probe = await checkProcessorLoads(processor);
  if (!probe.ok) throw new ConfigError(probe.message);
  if (!probe.catalog && needCatalog) throw new ConfigError(`processor ${processor}: declares no job types; export default { jobs: [defineJob({ name, urgency, resourceBoundary, tags, run })] }`);
  for (const c of configs) {
    if (c.processor && c.processor !== processor) {
      const other = await checkProcessorLoads(c.processor);
      if (!other.ok) throw new ConfigError(other.message);
      if (JSON.stringify(other.catalog) !== JSON.stringify(probe.catalog)) {
        throw new ConfigError(`processor: ${c.configFile} and ${configs[0]!.configFile} declare different job types; every instance must share one catalog`);
      }
    }
  }

  const withRules = configs.filter((c) => c.routingRules);
  const rules = withRules[0]?.routingRules ?? parseRules(DEFAULT_RULES_RAW);
  for (const c of configs) {
    if (!sameRules(c.routingRules ?? parseRules(DEFAULT_RULES_RAW), rules)) {
      throw new ConfigError(`routing-rules: ${c.configFile} and ${withRules[0]?.configFile ?? 'the default'} differ; producers and every instance must use the same rules`);
    }
  }

  try {
    const catalog = probe.catalog ?? [];
    const routes = requireRoutes(catalog, rules);
    const instances = files.length > 0 ? configs.map((c) => ({ name: c.name, file: c.configFile!, queues: poolQueues(c, probe.catalog) })) : [];
    return { redisUrl: first.redisUrl, redis: first.redis, prefix: first.prefix, catalog, rules, routes, instances };
  } catch (err) {
    if (err instanceof RuleError) throw new ConfigError(err.message);
    throw err;
  }
}


/**
 * What a CLI command reads from this shell for Redis: REDIS_URL as the last fallback, the
 * WORKER_POOL_REDIS_* variables and systemd's credentials directory (password files).
 */
function redisEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k === 'REDIS_URL' || k === 'CREDENTIALS_DIRECTORY' || k.startsWith('WORKER_POOL_REDIS_')) env[k] = v;
  }
  return env;
}

function redisFlags(input: Pick<SetupInput, 'redisUrl' | 'redisSentinels' | 'redisSentinelName' | 'redisClusterNodes'>): RawValues {
  const flags: RawValues = {};
  if (input.redisUrl !== undefined) flags['redis-url'] = input.redisUrl;
  if (input.redisSentinels !== undefined) flags['redis-sentinels'] = input.redisSentinels;
  if (input.redisSentinelName !== undefined) flags['redis-sentinel-name'] = input.redisSentinelName;
  if (input.redisClusterNodes !== undefined) flags['redis-cluster-nodes'] = input.redisClusterNodes;
  return flags;
}

/** The Redis of a CLI command without a pool config (enqueue --queue): flags < env, checked as a pool's are. */
export function cliRedisTarget(input: Pick<SetupInput, 'redisUrl' | 'redisSentinels' | 'redisSentinelName' | 'redisClusterNodes' | 'prefix'>): RedisTarget {
  const flags = redisFlags(input);
  if (input.prefix !== undefined) flags['prefix'] = input.prefix;
  return loadWithSecrets({ flags, env: redisEnv() }).redis;
}
