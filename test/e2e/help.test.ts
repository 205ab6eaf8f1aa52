/**
 * The command's own help and its answer to a typo: `worker-pool --help` shows the pool's options
 * (grouped as the schema's `group` says, every one of them) and examples; a mistyped command is
 * named as one, with a suggestion, and exits 64.
 */
import { describe, expect, it } from 'vitest';
import { OPTION_GROUPS, OPTIONS } from '../../src/config/schema.js';
import { runCli } from '../helpers/cli.js';

describe('worker-pool --help and mistyped commands', () => {
  it('top-level --help lists every pool option under its group, then examples', async () => {
    const r = await runCli(['--help']);
    expect(r.code).toBe(0);
    const text = r.stdout;
    const headings = OPTION_GROUPS.map((g) => text.indexOf(`\n${g.heading}:\n`));
    expect(headings.every((i) => i > 0), `headings ${OPTION_GROUPS.map((g) => g.heading).join(', ')} in:\n${text}`).toBe(true);
    expect([...headings].sort((a, b) => a - b)).toEqual(headings); // in the schema's order
    for (const spec of OPTIONS) {
      const at = text.indexOf(`  --${spec.key} `) >= 0 ? text.indexOf(`  --${spec.key} `) : text.indexOf(`  --${spec.key}\n`);
      expect(at, `--${spec.key} in the top-level help`).toBeGreaterThan(0);
      const group = OPTION_GROUPS.findIndex((g) => g.group === spec.group);
      const next = headings[group + 1] ?? text.indexOf('\nExamples:\n');
      expect(at > headings[group]! && at < next, `--${spec.key} under ${OPTION_GROUPS[group]?.heading}`).toBe(true);
    }
    expect(text).toMatch(/\nExamples:\n.*\n {2}worker-pool --processor \S+ .*--min-workers 2 --max-workers 5/);
    expect(text).toMatch(/\n {2}status \[options\]/); // the commands are still listed
  });

  it('every option of the schema has a help group', () => {
    const known = new Set(OPTION_GROUPS.map((g) => g.group));
    expect(OPTIONS.filter((o) => o.group === undefined || !known.has(o.group)).map((o) => o.key)).toEqual([]);
  });

  it('worker-pool statsu says "unknown command … did you mean status?" and exits 64', async () => {
    const r = await runCli(['statsu']);
    expect(r.code).toBe(64);
    expect(r.stderr.trim()).toBe('worker-pool: unknown command "statsu"; did you mean status? (worker-pool --help shows usage)');
    const far = await runCli(['frobnicate', '--min-workers', '2']);
    expect(far.code).toBe(64);
    expect(far.stderr).toMatch(/unknown command "frobnicate"; the commands are start, check-config, .*status/);
    expect(far.stderr).not.toMatch(/too many arguments/);
  });
});
