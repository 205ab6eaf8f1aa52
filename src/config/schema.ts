/**
 * Every setting of a pool in one table: its key (the long option name, the config-file key and,
 * upper-cased, the WORKER_POOL_* variable), its kind, its default with a line of why, and its limits.
 * Parsing and validation of one value live here too, so the file, the environment and the flags
 * are all checked by the same code and report the same one-line errors.
 */
import { parseEndpoints } from '../redis/endpoints.js';
import { parseRules, RuleError } from '../routing/rules.js';
import { parseSelector, SelectorError } from '../routing/selector.js';
import { redactText } from '../secrets.js';
import { MAX_TIMER_SECONDS } from '../timing.js';

/**
 * `rules`: a list of [selector, queue or null] pairs (YAML, or JSON in env/flags); `selector`: a queue
 * selector; `limits`: queue → whole number (QUEUE=N,… in env/flags, a mapping in YAML).
 */
export type Kind = 'int' | 'number' | 'string' | 'list' | 'endpoints' | 'bool' | 'enum' | 'seconds' | 'rules' | 'selector' | 'limits';

/** Where an option is shown in --help (a heading per group, in OPTION_GROUPS order). */
export type OptionGroup = 'general' | 'scaling' | 'workers' | 'reliability' | 'redis' | 'fleet' | 'http';

export const OPTION_GROUPS: ReadonlyArray<{ group: OptionGroup; heading: string }> = [
  { group: 'general', heading: 'Config' },
  { group: 'scaling', heading: 'Scaling' },
  { group: 'workers', heading: 'Workers' },
  { group: 'reliability', heading: 'Reliability' },
  { group: 'redis', heading: 'Redis' },
  { group: 'fleet', heading: 'Fleet' },
  { group: 'http', heading: 'HTTP and logs' },
];

export interface OptionSpec {
  key: string;
  /** The --help heading it is listed under. */
  group?: OptionGroup;
  kind: Kind;
  /** Placeholder in --help. */
  arg?: string;
  default?: unknown;
  min?: number;
  /** Lower bound is exclusive (e.g. "> 0"). */
  above?: number;
  max?: number;
  choices?: readonly string[];
  /** Allowed to be absent (no default). */
  optional?: boolean;
  /** Not a file/env key: only meaningful on the command line. */
  cliOnly?: boolean;
  help: string;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const OPTIONS: readonly OptionSpec[] = [
  { key: 'config', group: 'general', kind: 'string', arg: 'FILE', optional: true, cliOnly: true, help: 'YAML config file whose keys are these long option names' },
  { key: 'name', group: 'general', kind: 'string', arg: 'NAME', optional: true, help: 'pool name for logs, metrics and process titles (default: config file base name, else "default")' },
  { key: 'redis-url', group: 'redis', kind: 'string', arg: 'URL', default: 'redis://127.0.0.1:6379', help: 'Redis to use (redis:// or rediss://); default $REDIS_URL, else redis://127.0.0.1:6379' },
  { key: 'redis-sentinels', group: 'redis', kind: 'endpoints', arg: 'HOST:PORT,…', optional: true, help: 'Redis Sentinel mode: the sentinels that name the master of --redis-sentinel-name (credentials, db and TLS of the data nodes still come from redis-url)' },
  { key: 'redis-sentinel-name', group: 'redis', kind: 'string', arg: 'NAME', default: 'mymaster', help: 'Sentinel mode: the master group name the sentinels monitor' },
  { key: 'redis-sentinel-password-file', group: 'redis', kind: 'string', arg: 'FILE', optional: true, help: 'file holding the sentinels\' own password (default: $CREDENTIALS_DIRECTORY/redis-sentinel-password when present)' },
  { key: 'redis-cluster-nodes', group: 'redis', kind: 'endpoints', arg: 'HOST:PORT,…', optional: true, help: 'Redis Cluster mode: some of the cluster\'s nodes (the prefix must then hold a {hash tag})' },
  { key: 'prefix', group: 'redis', kind: 'string', arg: 'PREFIX', default: 'bull', help: 'BullMQ key prefix of the queues' },
  { key: 'queues', group: 'workers', kind: 'list', arg: 'A,B', default: ['default'], help: 'queues to take jobs from, in strict priority order' },
  { key: 'queue-selector', group: 'workers', kind: 'selector', arg: 'SELECTOR', optional: true, help: 'also take jobs from the actual queues of the job types this selector matches (e.g. "resource_boundary=cpu&urgency=high"); needs a processor that declares jobs' },
  { key: 'routing-rules', group: 'workers', kind: 'rules', arg: 'JSON', optional: true, help: 'routing rules: a list of [selector, queue or null] pairs, first match wins (default: [["*", null]], every job type to its generated queue)' },
  { key: 'processor', group: 'workers', kind: 'string', arg: 'MODULE', optional: true, help: 'module whose default export runs jobs: (job, token, signal) => result as for a BullMQ Worker, or { init, handlers }; it may export workerOptions' },
  { key: 'global-concurrency', group: 'workers', kind: 'limits', arg: 'QUEUE=N,…', default: {}, help: 'most jobs of a queue running at once across every pool on the shared Redis (QUEUE=1: a serial queue)' },
  { key: 'concurrency', group: 'workers', kind: 'int', arg: 'N', default: 1, min: 1, max: 10000, help: 'jobs one worker runs at once, across all its queues' },
  { key: 'min-workers', group: 'scaling', kind: 'int', arg: 'N', default: 1, min: 0, max: 1000, help: 'fewest worker processes' },
  { key: 'max-workers', group: 'scaling', kind: 'int', arg: 'N', default: 4, min: 1, max: 1000, help: 'most worker processes' },
  { key: 'scaling-period', group: 'scaling', kind: 'seconds', arg: 'SECONDS', default: 5, above: 0, help: 'how often to decide whether to add or remove a worker' },
  { key: 'window', group: 'scaling', kind: 'seconds', arg: 'SECONDS', default: 30, above: 0, help: 'how far back utilization is measured' },
  { key: 'utilization-threshold', group: 'scaling', kind: 'number', arg: 'R', default: 0.5, above: 0, max: 1, help: 'add a worker above this utilization, remove one below half of it' },
  { key: 'policy', group: 'scaling', kind: 'enum', arg: 'NAME', default: 'threshold', choices: ['threshold', 'adaptive', 'latency'], help: 'scaling rule: threshold (one worker at a time), adaptive (sized from demand and backlog) or latency (keep waits under --target-wait)' },
  { key: 'target-wait', group: 'scaling', kind: 'seconds', arg: 'SECONDS', default: 2, above: 0, help: 'latency: keep the p95 wait and the oldest waiting job under this, with as few workers as possible' },
  { key: 'cpu-guard', group: 'scaling', kind: 'bool', default: true, help: 'add no worker while the host CPUs are saturated and the jobs CPU-bound; step back a step that did not raise throughput (--no-cpu-guard: off)' },
  { key: 'max-step', group: 'scaling', kind: 'int', arg: 'N', default: 4, min: 1, max: 1000, help: 'adaptive: most workers added by one decision' },
  { key: 'stabilization-window', group: 'scaling', kind: 'seconds', arg: 'SECONDS', default: 10, min: 0, help: 'adaptive: remove a worker only if every recommendation this long was lower' },
  { key: 'memory-budget-mb', group: 'scaling', kind: 'int', arg: 'N', optional: true, min: 1, help: 'never start a worker that would take the pool\'s resident memory (supervisor and workers, a new one at the largest one\'s size) over this (default: the memory limit of the daemon\'s cgroup, a container\'s --memory, less 10%)' },
  { key: 'sample-interval', group: 'scaling', kind: 'seconds', arg: 'SECONDS', default: 1, above: 0, max: 60, help: 'how often each worker reports its busy time' },
  { key: 'stop-timeout', group: 'reliability', kind: 'seconds', arg: 'SECONDS', default: 25, above: 0, help: 'the whole budget of a stop: running jobs finish until 3 s before it, then are handed back (default with --stop-budget: the budget less 1 s)' },
  { key: 'stop-budget', group: 'reliability', kind: 'seconds', arg: 'SECONDS', optional: true, min: 1, help: "the platform's time from SIGTERM to SIGKILL (docker/podman stop: 10, Kubernetes: terminationGracePeriodSeconds): the process exits by itself 1 s before it, every step of the stop bounded; stop-timeout must fit in it" },
  { key: 'max-jobs-per-worker', group: 'workers', kind: 'int', arg: 'N', optional: true, min: 1, help: 'replace a worker after it has run this many jobs' },
  { key: 'max-memory-mb', group: 'workers', kind: 'int', arg: 'N', optional: true, min: 1, help: 'replace a worker whose resident memory exceeds this' },
  { key: 'start-seconds', group: 'reliability', kind: 'seconds', arg: 'SECONDS', default: 1, min: 0, help: 'a worker that exits sooner than this after starting (or never gets ready) failed to start' },
  { key: 'start-retries', group: 'reliability', kind: 'int', arg: 'N', default: 5, min: 1, max: 1000, help: 'failed starts in a row (restarted after 1 s, 2 s, 4 s … 60 s) before a slot is fatal' },
  { key: 'fatal-cooldown', group: 'reliability', kind: 'seconds', arg: 'SECONDS', default: 300, above: 0, help: 'how long a fatal slot waits before it tries to start a worker again' },
  { key: 'job-timeout', group: 'reliability', kind: 'seconds', arg: 'SECONDS', optional: true, above: 0, help: 'fail a job that runs longer than this and replace its worker (a job overrides it with data.timeoutSeconds)' },
  { key: 'lock-duration', group: 'reliability', kind: 'seconds', arg: 'SECONDS', default: 30, min: 1, help: "how long a running job's lock lasts between renewals (BullMQ lockDuration)" },
  { key: 'stalled-interval', group: 'reliability', kind: 'seconds', arg: 'SECONDS', default: 30, min: 1, help: 'how often BullMQ looks for jobs whose lock expired (the safety net behind the hand-back)' },
  { key: 'max-stalled-count', group: 'reliability', kind: 'int', arg: 'N', default: 2, min: 0, max: 1000, help: 'times a job may lose its worker (hand-back or stall) and be retried; once more and it fails' },
  { key: 'heartbeat-seconds', group: 'fleet', kind: 'seconds', arg: 'SECONDS', optional: true, above: 0, max: 60, help: "fleet: how often this daemon renews its registration in Redis; every daemon on one Redis and prefix is one fleet (default: 1, or a fifth of lease-seconds when that is less)" },
  { key: 'lease-seconds', group: 'fleet', kind: 'seconds', arg: 'SECONDS', optional: true, above: 0, help: "fleet: a registration not renewed for this long (by Redis' clock) is dead; a peer hands its jobs back. Above heartbeat-seconds, below lock-duration (default: 5, or half of lock-duration when that is less)" },
  { key: 'fleet-max-workers', group: 'fleet', kind: 'int', arg: 'N', optional: true, min: 1, max: 100000, help: 'fleet: most workers of this pool name running at once across every host on the Redis (each worker holds a slot lease)' },
  { key: 'stuck-seconds', group: 'reliability', kind: 'seconds', arg: 'SECONDS', default: 30, above: 0, max: 86400, help: 'replace a worker that has free slots and started no job this long while one of its queues has jobs it may take' },
  { key: 'redis-password-file', group: 'redis', kind: 'string', arg: 'FILE', optional: true, help: 'file holding the Redis password (default: $CREDENTIALS_DIRECTORY/redis-password when present)' },
  { key: 'metrics-host', group: 'http', kind: 'string', arg: 'HOST', default: '127.0.0.1', help: 'address of the HTTP endpoints (/metrics /status /healthz /readyz)' },
  { key: 'metrics-port', group: 'http', kind: 'int', arg: 'PORT', default: 9464, min: 0, max: 65535, help: 'port of the HTTP endpoints (0: any free port)' },
  { key: 'metrics-queues', group: 'http', kind: 'int', arg: 'N', default: 100, min: 1, max: 100000, help: 'per-queue metric series for the first N queues listed; the others are counted together as queue="_other"' },
  { key: 'http-config', group: 'http', kind: 'string', arg: 'FILE', optional: true, help: 'HTTP access file (YAML, exporter-toolkit keys): basic_auth_users (bcrypt), bearer_token_file, tls_server_config, host_names; a relative path is read from $CREDENTIALS_DIRECTORY when set' },
  { key: 'http-insecure', group: 'http', kind: 'bool', default: false, help: 'allow a non-loopback --metrics-host without authentication (anyone who reaches it sees /metrics, /status, /events, and /jobs with --job-board open)' },
  { key: 'job-board', group: 'http', kind: 'enum', arg: 'MODE', default: 'auth', choices: ['auth', 'open', 'off'], help: 'the job board at /jobs (job data, return values, errors): auth = only for credentials with role read (actions: admin) of --http-config; open = also read-only without credentials (loopback, or everyone with --http-insecure); off = not served' },
  { key: 'events-payloads', group: 'http', kind: 'bool', default: false, help: 'put job data in /events: return values, failure reasons, progress objects (a numeric progress is always sent)' },
  { key: 'events-max-clients', group: 'http', kind: 'int', arg: 'N', default: 50, min: 1, max: 10000, help: 'most /events streams open at once; one more is answered 503' },
  { key: 'log-level', group: 'http', kind: 'enum', arg: 'LEVEL', default: 'info', choices: LOG_LEVELS, help: 'least severe log level written' },
  { key: 'log-format', group: 'http', kind: 'enum', arg: 'FORMAT', optional: true, choices: ['json', 'pretty'], help: 'json, or pretty (default: pretty on a terminal, json otherwise)' },
  { key: 'embedded-redis', group: 'redis', kind: 'bool', default: false, cliOnly: true, help: 'start a private redis-server for trying things out (ignores --redis-url)' },
];

export const OPTION_BY_KEY: ReadonlyMap<string, OptionSpec> = new Map(OPTIONS.map((o) => [o.key, o]));

/** Where a value came from, for error messages. */
export type Source = 'default' | 'file' | 'env' | 'flag';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(message: string) {
    // Messages quote values, and a value may be a Redis URL with its password.
    super(redactText(message));
  }
}

export function envName(key: string): string {
  return 'WORKER_POOL_' + key.toUpperCase().replace(/-/g, '_');
}

function where(key: string, source: Source, file?: string): string {
  switch (source) {
    case 'flag':
      return `--${key}`;
    case 'env':
      return envName(key);
    case 'file':
      return file ? `${key} in ${file}` : key;
    case 'default':
      return key;
  }
}

/**
 * The largest value allowed: a duration is also bounded by what a Node timer can wait (a longer
 * delay would fire after 1 ms).
 */
export function maxOf(spec: OptionSpec): number | undefined {
  if (spec.kind !== 'seconds') return spec.max;
  return Math.min(spec.max ?? Infinity, MAX_TIMER_SECONDS);
}

/** What BullMQ refuses as a queue name (its Queue and Worker constructors throw), or undefined. */
export function queueNameProblem(name: string): string | undefined {
  if (name === '') return 'a queue name cannot be empty';
  if (name.includes(':')) return "a queue name cannot contain ':' (BullMQ separates the parts of its keys with it)";
  return undefined;
}

function describeAllowed(spec: OptionSpec): string {
  const bounds: string[] = [];
  const max = maxOf(spec);
  if (spec.above !== undefined) bounds.push(`> ${spec.above}`);
  if (spec.min !== undefined) bounds.push(`≥ ${spec.min}`);
  if (max !== undefined) bounds.push(`≤ ${max}`);
  const range = bounds.length ? ' ' + bounds.join(' and ') : '';
  switch (spec.kind) {
    case 'int':
      return `a whole number${range}`;
    case 'number':
      return `a number${range}`;
    case 'seconds':
      return `a number of seconds${range} (fractions allowed)`;
    case 'bool':
      return 'true or false';
    case 'enum':
      return `one of ${spec.choices!.join(', ')}`;
    case 'endpoints':
      return 'a comma-separated list of HOST:PORT';
    case 'list':
      return 'a comma-separated list of non-empty names';
    case 'string':
      return 'a non-empty string';
    case 'limits':
      return 'queue names with a whole number ≥ 1 each (QUEUE=N,… or a YAML mapping)';
    case 'rules':
      return 'a list of [selector, queue or null] pairs, e.g. [["urgency=high", null], ["*", "default"]]';
    case 'selector':
      return 'a queue selector such as "resource_boundary=cpu&urgency=high" or "*"';
  }
}

export function badValue(spec: OptionSpec, raw: unknown, source: Source, file?: string): ConfigError {
  const shown = typeof raw === 'string' ? JSON.stringify(raw) : JSON.stringify(raw) ?? String(raw);
  return new ConfigError(`${where(spec.key, source, file)}: ${shown} is not allowed; expected ${describeAllowed(spec)}`);
}

/** Turn a raw value (a string from env/flags, or a YAML value) into the option's type, or throw. */
export function parseValue(spec: OptionSpec, raw: unknown, source: Source, file?: string): unknown {
  const fail = () => badValue(spec, raw, source, file);
  switch (spec.kind) {
    case 'int':
    case 'number':
    case 'seconds': {
      let n: number;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string' && raw.trim() !== '' && /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(raw.trim())) n = Number(raw);
      else throw fail();
      if (!Number.isFinite(n)) throw fail();
      if (spec.kind === 'int' && !Number.isInteger(n)) throw fail();
      if (spec.above !== undefined && !(n > spec.above)) throw fail();
      if (spec.min !== undefined && n < spec.min) throw fail();
      const max = maxOf(spec);
      if (max !== undefined && n > max) throw fail();
      return n;
    }
    case 'bool': {
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string') {
        const v = raw.trim().toLowerCase();
        if (['true', '1', 'yes', 'on'].includes(v)) return true;
        if (['false', '0', 'no', 'off'].includes(v)) return false;
      }
      throw fail();
    }
    case 'enum': {
      if (typeof raw === 'string' && spec.choices!.includes(raw)) return raw;
      throw fail();
    }
    case 'endpoints': {
      const items = Array.isArray(raw) ? raw : typeof raw === 'string' ? raw.split(',') : undefined;
      if (!items || items.length === 0 || !items.every((s) => typeof s === 'string')) throw fail();
      const names = items.map((s) => (s as string).trim());
      if (!parseEndpoints(names)) throw fail();
      return names;
    }
    case 'list': {
      let items: unknown[];
      if (Array.isArray(raw)) items = raw;
      else if (typeof raw === 'string') items = raw.split(',').map((s) => s.trim());
      else throw fail();
      if (items.length === 0 || !items.every((s) => typeof s === 'string' && s.trim() !== '')) throw fail();
      const names = items.map((s) => (s as string).trim());
      for (const name of names) {
        const problem = queueNameProblem(name);
        if (problem) throw new ConfigError(`${where(spec.key, source, file)}: ${JSON.stringify(name)} is not allowed; ${problem}`);
      }
      if (new Set(names).size !== names.length) {
        throw new ConfigError(`${where(spec.key, source, file)}: ${JSON.stringify(raw)} lists a queue twice; each queue may appear once`);
      }
      return names;
    }
    case 'string': {
      if (typeof raw === 'number') return String(raw);
      if (typeof raw === 'string' && raw.trim() !== '') return raw.trim();
      throw fail();
    }
    case 'limits': {
      const limits = parseLimits(raw, fail);
      for (const name of Object.keys(limits)) {
        const problem = queueNameProblem(name);
        if (problem) throw new ConfigError(`${where(spec.key, source, file)}: ${JSON.stringify(name)} is not allowed; ${problem}`);
      }
      return limits;
    }
    case 'selector': {
      if (typeof raw !== 'string') throw fail();
      try {
        parseSelector(raw);
      } catch (err) {
        if (err instanceof SelectorError) throw new ConfigError(`${where(spec.key, source, file)}: ${err.message}`);
        throw err;
      }
      return raw.trim();
    }
    case 'rules': {
      let value = raw;
      if (typeof raw === 'string') {
        try {
          value = JSON.parse(raw);
        } catch {
          throw fail();
        }
      }
      try {
        return parseRules(value);
      } catch (err) {
        if (err instanceof RuleError) throw new ConfigError(`${where(spec.key, source, file)}: ${err.message}`);
        throw err;
      }
    }
  }
}

/** `a=1,b=2` (flag, env) or a YAML mapping `{ a: 1 }` into queue → whole number ≥ 1. */
function parseLimits(raw: unknown, fail: () => ConfigError): Record<string, number> {
  let entries: Array<[string, unknown]>;
  if (typeof raw === 'string') {
    if (raw.trim() === '') return {};
    entries = raw.split(',').map((part) => {
      const eq = part.indexOf('=');
      if (eq < 0) throw fail();
      return [part.slice(0, eq).trim(), part.slice(eq + 1).trim()];
    });
  } else if (typeof raw === 'object' && raw !== null && !Array.isArray(raw)) {
    entries = Object.entries(raw as Record<string, unknown>);
  } else {
    throw fail();
  }
  // A Map, not `in` on a plain object: "constructor" or "toString" are queue names like any other.
  const out = new Map<string, number>();
  for (const [queue, value] of entries) {
    const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
    if (queue === '' || out.has(queue) || !Number.isInteger(n) || n < 1) throw fail();
    out.set(queue, n);
  }
  return Object.fromEntries(out);
}
