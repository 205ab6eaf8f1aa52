import { describe, expect, it } from 'vitest';
import { loadConfig, type RawValues } from '../../src/config/load.js';
import { planReload } from '../../src/config/reload-plan.js';

const config = (flags: RawValues) => loadConfig({ flags: { queues: 'a,b', ...flags }, env: {} });

describe('planReload', () => {
  it('applies scaling limits at once without new workers', () => {
    const plan = planReload(config({}), config({ 'min-workers': 2, 'utilization-threshold': 0.8, window: 60, 'log-level': 'debug' }));
    expect(plan.changed).toEqual(['min-workers', 'utilization-threshold', 'window', 'log-level']);
    expect(plan.replaceWorkers).toBe(false);
    expect(plan.needRestart).toEqual([]);
    expect(plan.effective.minWorkers).toBe(2);
  });

  it('replaces workers for concurrency, queues and sample-interval', () => {
    for (const flags of [{ concurrency: 3 }, { queues: 'b,a' }, { 'sample-interval': 0.5 }]) {
      const plan = planReload(config({}), config(flags));
      expect(plan.replaceWorkers, JSON.stringify(flags)).toBe(true);
      expect(plan.changed).toHaveLength(1);
    }
  });

  it('replaces workers when the set of limited queues changes, not when only a limit does', () => {
    const one = config({ 'global-concurrency': 'a=1' });
    expect(planReload(one, config({ 'global-concurrency': 'a=2' }))).toMatchObject({ changed: ['global-concurrency'], replaceWorkers: false });
    expect(planReload(one, config({ 'global-concurrency': 'a=1,b=1' }))).toMatchObject({ changed: ['global-concurrency'], replaceWorkers: true });
    expect(planReload(one, config({}))).toMatchObject({ changed: ['global-concurrency'], replaceWorkers: true });
  });

  it('keeps the old value of what needs a restart, and says so', () => {
    const old = config({ 'metrics-port': 9464, name: 'x' });
    const plan = planReload(old, config({ 'metrics-port': 9999, name: 'y', 'max-workers': 8 }));
    expect(plan.needRestart).toEqual(['name', 'metrics-port']);
    expect(plan.changed).toEqual(['max-workers']);
    expect(plan.effective).toMatchObject({ metricsPort: 9464, name: 'x', maxWorkers: 8 });
  });

  it('finds nothing to do in the same file', () => {
    expect(planReload(config({ concurrency: 4 }), config({ concurrency: 4 }))).toMatchObject({ changed: [], needRestart: [], replaceWorkers: false });
  });
});
