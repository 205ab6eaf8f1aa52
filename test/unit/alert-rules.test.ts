/**
 * The alert rules, checked by Prometheus' own tool: the file is valid, and `promtool test rules`
 * passes (each alert fires on the series that should fire it, and not on near misses, per-queue
 * thresholds included). Every alert links its own section of docs/runbook.md, and the dashboard's
 * annotations do not depend on the panel resolution ($__interval).
 * promtool comes with Debian's `prometheus` package (npm test's pretest installs it); missing, the test fails.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const RULES = 'config/prometheus/worker-pool.rules.yml';
const RULE_TESTS = 'test/prometheus/worker-pool.rules.test.yml';
const RUNBOOK = 'docs/runbook.md';
const DASHBOARD = 'config/grafana/worker-pool.json';

function promtool(...args: string[]) {
  const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 30_000 });
  if (r.error) throw new Error(`promtool could not run (install Debian's "prometheus" package): ${r.error.message}`);
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

interface Rule {
  alert?: string;
  annotations?: Record<string, string>;
}
const alerts = (): Rule[] => (parse(readFileSync(RULES, 'utf8')) as { groups: Array<{ rules: Rule[] }> }).groups.flatMap((g) => g.rules).filter((r) => r.alert);

describe('alert rules', () => {
  it('are valid rule files with the eleven alerts', () => {
    const r = promtool('check', 'rules', RULES);
    expect(r.out).toContain('SUCCESS: 11 rules found');
    expect(r.code).toBe(0);
    expect(alerts().map((a) => a.alert)).toEqual([
      'WorkerPoolSaturated', 'WorkerPoolFatalSlot', 'WorkerPoolCrashLoop', 'WorkerPoolOldestJobTooOld', 'WorkerPoolHighFailureRatio', 'WorkerPoolBacklogNotDraining',
      'WorkerPoolFailedSetGrowing', 'WorkerPoolMemoryRecycling', 'WorkerPoolFlapping', 'WorkerPoolRedisDown', 'WorkerPoolTargetDown',
    ]);
  });

  it('pass promtool test rules', () => {
    const r = promtool('test', 'rules', RULE_TESTS);
    expect(r.out).toContain('SUCCESS');
    expect(r.code, r.out).toBe(0);
  });

  it('each alert has a runbook_url to its own section of docs/runbook.md, and each section has its alert', () => {
    const sections = [...readFileSync(RUNBOOK, 'utf8').matchAll(/^## (\S+)$/gm)].map((m) => m[1]!);
    for (const a of alerts()) {
      const url = a.annotations?.['runbook_url'] ?? '';
      expect(url, `${a.alert} runbook_url`).toMatch(new RegExp(`/runbook\\.md#${a.alert!.toLowerCase()}$`));
      expect(sections, `a "## ${a.alert}" section in ${RUNBOOK}`).toContain(a.alert);
    }
    expect(sections.sort()).toEqual(alerts().map((a) => a.alert!).sort());
  });

  it('dashboard annotations mark each scaling change at its time, whatever the resolution', () => {
    const dash = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as { annotations: { list: Array<{ name: string; expr?: string; useValueForTime?: boolean }> } };
    const scale = dash.annotations.list.filter((a) => a.expr);
    expect(scale.map((a) => a.name)).toEqual(['Scale up', 'Scale down']);
    for (const a of scale) {
      expect(a.expr).not.toMatch(/\$__(rate_)?interval/);
      expect(a.expr).toContain('worker_pool_last_scale_event_timestamp_seconds');
      expect(a.useValueForTime).toBe(true);
    }
  });
});
