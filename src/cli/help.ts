/** The top-level --help text after the command list: the pool's options by group, and examples. */
import type { Command } from 'commander';

const EXAMPLES = [
  ['worker-pool --processor ./jobs.mjs --queues default --min-workers 2 --max-workers 5', 'a pool of 2 to 5 workers on one queue'],
  ['worker-pool --config /etc/worker-pool/orchestrator.yml --log-level debug', 'a pool from its config file (flags override it)'],
  ['worker-pool status --url http://127.0.0.1:9464', 'look at a running pool'],
] as const;

/**
 * The options of the default command (`start`), as its own --help lists them (grouped by the
 * schema's `group`), so `worker-pool --help` shows what the usual `worker-pool --min-workers …` takes.
 */
export function poolHelpText(start: Command): string {
  const own = start.helpInformation();
  // start's own help minus its usage and description (before the first group) and its -h (the last group).
  const first = own.search(/^\S.*:\n {2}-/m);
  const last = own.search(/^Options:\n/m);
  const groups = own.slice(Math.max(0, first), last > first ? last : undefined).trimEnd();
  const examples = EXAMPLES.map(([cmd, what]) => `  # ${what}\n  ${cmd}`).join('\n');
  return `\nPool options of worker-pool [start] (also config file keys and WORKER_POOL_* variables):\n\n${groups}\n\nExamples:\n${examples}\n`;
}
