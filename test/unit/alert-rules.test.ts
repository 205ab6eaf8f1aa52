/**
 * The alert rules, checked by Prometheus' own tool: the file is valid, and `promtool test rules`
 * passes (each alert fires on the series that should fire it, and not on near misses).
 * promtool comes with Debian's `prometheus` package (.ci/run installs it); missing, the test fails.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const RULES = 'config/prometheus/worker-pool.rules.yml';
const RULE_TESTS = 'test/prometheus/worker-pool.rules.test.yml';

function promtool(...args: string[]) {
  const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`promtool could not run (install Debian's "prometheus" package): ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

describe('alert rules', () => {
  it('are valid rule files with the six alerts', () => {
    const r = promtool('check', 'rules', RULES);
    expect(r.out).toContain('SUCCESS: 6 rules found');
    expect(r.code).toBe(0);
  });

  it('pass promtool test rules', () => {
    const r = promtool('test', 'rules', RULE_TESTS);
    expect(r.out).toContain('SUCCESS');
    expect(r.code, r.out).toBe(0);
  });
});
