/** Commander options generated from the config schema, so flags and config keys never drift apart. */
import { Option, type Command } from 'commander';
import { OPTION_GROUPS, OPTIONS, envName } from '../config/schema.js';
import type { RawValues } from '../config/load.js';

function defaultText(spec: (typeof OPTIONS)[number]): string | undefined {
  if (spec.key === 'redis-url') return '$REDIS_URL, else redis://127.0.0.1:6379';
  if (spec.default === undefined || spec.default === false) return undefined;
  if (typeof spec.default === 'object' && !Array.isArray(spec.default)) return undefined;
  return Array.isArray(spec.default) ? spec.default.join(',') : String(spec.default);
}

export function addPoolOptions(cmd: Command, specs: readonly (typeof OPTIONS)[number][] = OPTIONS): Command {
  // Listed group by group, in the schema's order of groups (commander shows groups as first met).
  const rank = (spec: (typeof OPTIONS)[number]) => {
    const i = OPTION_GROUPS.findIndex((g) => g.group === spec.group);
    return i < 0 ? OPTION_GROUPS.length : i;
  };
  for (const spec of [...specs].sort((a, b) => rank(a) - rank(b))) {
    const flags = spec.kind === 'bool' ? `--${spec.key}` : `--${spec.key} <${spec.arg ?? 'VALUE'}>`;
    const shown = defaultText(spec);
    const help = spec.help + (shown !== undefined && spec.key !== 'redis-url' ? ` (default: ${shown})` : '') + (spec.cliOnly ? '' : ` [env ${envName(spec.key)}]`);
    const heading = OPTION_GROUPS.find((g) => g.group === spec.group)?.heading ?? 'Other';
    cmd.addOption(new Option(flags, help).helpGroup(`${heading}:`));
    // A switch that is on by default gets its negation; with both defined commander sets neither by default.
    if (spec.kind === 'bool' && spec.default === true) cmd.addOption(new Option(`--no-${spec.key}`, `turn ${spec.key} off`).helpGroup(`${heading}:`));
  }
  return cmd;
}

/** Commander's camelCase opts back to schema keys, leaving out what was not given. */
export function flagsFromOpts(opts: Record<string, unknown>): RawValues {
  const out: RawValues = {};
  for (const spec of OPTIONS) {
    const camel = spec.key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
    if (opts[camel] !== undefined) out[spec.key] = opts[camel];
  }
  return out;
}
