/**
 * Every setting of a pool in one table: its key (the long option name, the config-file key and,
 * upper-cased, the WORKER_POOL_* variable), its kind, its default with a line of why, and its limits.
 * Parsing and validation of one value live here too, so the file, the environment and the flags
 * are all checked by the same code and report the same one-line errors.
 */
import { parseRules, RuleError } from '../routing/rules.js';
import { parseSelector, SelectorError } from '../routing/selector.js';

/**
 * `rules`: a list of [selector, queue or null] pairs (YAML, or JSON in env/flags); `selector`: a queue
 * selector; `limits`: queue → whole number (QUEUE=N,… in env/flags, a mapping in YAML).
 */
export type Kind = 'int' | 'number' | 'string' | 'list' | 'bool' | 'enum' | 'seconds' | 'rules' | 'selector' | 'limits';

export interface OptionSpec {
  key: string;
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
  { key: 'config', kind: 'string', arg: 'FILE', optional: true, cliOnly: true, help: 'YAML config file whose keys are these long option names' },
  { key: 'name', kind: 'string', arg: 'NAME', optional: true, help: 'pool name for logs, metrics and process titles (default: config file base name, else "default")' },
  { key: 'redis-url', kind: 'string', arg: 'URL', default: 'redis://127.0.0.1:6379', help: 'Redis to use (redis:// or rediss://); default $REDIS_URL, else redis://127.0.0.1:6379' },
  { key: 'prefix', kind: 'string', arg: 'PREFIX', default: 'bull', help: 'BullMQ key prefix of the queues' },
  { key: 'queues', kind: 'list', arg: 'A,B', default: ['default'], help: 'queues to take jobs from, in strict priority order' },
  { key: 'queue-selector', kind: 'selector', arg: 'SELECTOR', optional: true, help: 'also take jobs from the actual queues of the job types this selector matches (e.g. "resource_boundary=cpu&urgency=high"); needs a processor that declares jobs' },
  { key: 'routing-rules', kind: 'rules', arg: 'JSON', optional: true, help: 'routing rules: a list of [selector, queue or null] pairs, first match wins (default: [["*", null]], every job type to its generated queue)' },
  { key: 'processor', kind: 'string', arg: 'MODULE', optional: true, help: 'module whose default export runs jobs (a function or { init, handlers })' },
  { key: 'global-concurrency', kind: 'limits', arg: 'QUEUE=N,…', default: {}, help: 'most jobs of a queue running at once across every pool on the shared Redis (QUEUE=1: a serial queue)' },
  { key: 'concurrency', kind: 'int', arg: 'N', default: 1, min: 1, max: 10000, help: 'jobs one worker runs at once, across all its queues' },
  { key: 'min-workers', kind: 'int', arg: 'N', default: 1, min: 0, max: 1000, help: 'fewest worker processes' },
  { key: 'max-workers', kind: 'int', arg: 'N', default: 4, min: 1, max: 1000, help: 'most worker processes' },
  { key: 'scaling-period', kind: 'seconds', arg: 'SECONDS', default: 5, above: 0, help: 'how often to decide whether to add or remove a worker' },
  { key: 'window', kind: 'seconds', arg: 'SECONDS', default: 30, above: 0, help: 'how far back utilization is measured' },
  { key: 'utilization-threshold', kind: 'number', arg: 'R', default: 0.5, above: 0, max: 1, help: 'add a worker above this utilization, remove one below half of it' },
  { key: 'policy', kind: 'enum', arg: 'NAME', default: 'threshold', choices: ['threshold', 'adaptive'], help: 'scaling rule: threshold (one worker at a time) or adaptive (sized from demand and backlog)' },
  { key: 'max-step', kind: 'int', arg: 'N', default: 4, min: 1, max: 1000, help: 'adaptive: most workers added by one decision' },
  { key: 'stabilization-window', kind: 'seconds', arg: 'SECONDS', default: 10, min: 0, help: 'adaptive: remove a worker only if every recommendation this long was lower' },
  { key: 'memory-budget-mb', kind: 'int', arg: 'N', optional: true, min: 1, help: 'adaptive: never start a worker that would take the workers\' total resident memory over this' },
  { key: 'sample-interval', kind: 'seconds', arg: 'SECONDS', default: 1, above: 0, max: 60, help: 'how often each worker reports its busy time' },
  { key: 'stop-timeout', kind: 'seconds', arg: 'SECONDS', default: 25, above: 0, help: 'the whole budget of a stop: running jobs finish until 3 s before it, then are handed back' },
  { key: 'max-jobs-per-worker', kind: 'int', arg: 'N', optional: true, min: 1, help: 'replace a worker after it has run this many jobs' },
  { key: 'max-memory-mb', kind: 'int', arg: 'N', optional: true, min: 1, help: 'replace a worker whose resident memory exceeds this' },
  { key: 'start-seconds', kind: 'seconds', arg: 'SECONDS', default: 1, min: 0, help: 'a worker that exits sooner than this after starting (or never gets ready) failed to start' },
  { key: 'start-retries', kind: 'int', arg: 'N', default: 5, min: 1, max: 1000, help: 'failed starts in a row (restarted after 1 s, 2 s, 4 s … 60 s) before a slot is fatal' },
  { key: 'fatal-cooldown', kind: 'seconds', arg: 'SECONDS', default: 300, above: 0, help: 'how long a fatal slot waits before it tries to start a worker again' },
  { key: 'job-timeout', kind: 'seconds', arg: 'SECONDS', optional: true, above: 0, help: 'fail a job that runs longer than this and replace its worker (a job overrides it with data.timeoutSeconds)' },
  { key: 'lock-duration', kind: 'seconds', arg: 'SECONDS', default: 30, min: 1, help: "how long a running job's lock lasts between renewals (BullMQ lockDuration)" },
  { key: 'stalled-interval', kind: 'seconds', arg: 'SECONDS', default: 30, min: 1, help: 'how often BullMQ looks for jobs whose lock expired (the safety net behind the hand-back)' },
  { key: 'max-stalled-count', kind: 'int', arg: 'N', default: 2, min: 0, max: 1000, help: 'times a job may lose its worker (hand-back or stall) and be retried; once more and it fails' },
  { key: 'redis-password-file', kind: 'string', arg: 'FILE', optional: true, help: 'file holding the Redis password (default: $CREDENTIALS_DIRECTORY/redis-password when present)' },
  { key: 'metrics-host', kind: 'string', arg: 'HOST', default: '127.0.0.1', help: 'address of the HTTP endpoints (/metrics /status /healthz /readyz)' },
  { key: 'metrics-port', kind: 'int', arg: 'PORT', default: 9464, min: 0, max: 65535, help: 'port of the HTTP endpoints (0: any free port)' },
  { key: 'metrics-queues', kind: 'int', arg: 'N', default: 100, min: 1, max: 100000, help: 'per-queue metric series for the first N queues listed; the others are counted together as queue="_other"' },
  { key: 'log-level', kind: 'enum', arg: 'LEVEL', default: 'info', choices: LOG_LEVELS, help: 'least severe log level written' },
  { key: 'log-format', kind: 'enum', arg: 'FORMAT', optional: true, choices: ['json', 'pretty'], help: 'json, or pretty (default: pretty on a terminal, json otherwise)' },
  { key: 'embedded-redis', kind: 'bool', default: false, cliOnly: true, help: 'start a private redis-server for trying things out (ignores --redis-url)' },
];

export const OPTION_BY_KEY: ReadonlyMap<string, OptionSpec> = new Map(OPTIONS.map((o) => [o.key, o]));

/** Where a value came from, for error messages. */
export type Source = 'default' | 'file' | 'env' | 'flag';

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(message: string) {
    super(message);
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

function describeAllowed(spec: OptionSpec): string {
  const bounds: string[] = [];
  if (spec.above !== undefined) bounds.push(`> ${spec.above}`);
  if (spec.min !== undefined) bounds.push(`≥ ${spec.min}`);
  if (spec.max !== undefined) bounds.push(`≤ ${spec.max}`);
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
      if (spec.max !== undefined && n > spec.max) throw fail();
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
    case 'list': {
      let items: unknown[];
      if (Array.isArray(raw)) items = raw;
      else if (typeof raw === 'string') items = raw.split(',').map((s) => s.trim());
      else throw fail();
      if (items.length === 0 || !items.every((s) => typeof s === 'string' && s.trim() !== '')) throw fail();
      const names = items.map((s) => (s as string).trim());
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
    case 'limits':
      return parseLimits(raw, fail);
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
  const out: Record<string, number> = {};
  for (const [queue, value] of entries) {
    const n = typeof value === 'number' ? value : typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
    if (queue === '' || queue in out || !Number.isInteger(n) || n < 1) throw fail();
    out[queue] = n;
  }
  return out;
}
