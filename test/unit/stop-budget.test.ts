/**
 * --stop-budget and --stop-timeout together: the budget sets the stop-timeout when it is not given,
 * a stop-timeout that fits is kept, one that does not is refused in one line (the CLI: exit 78);
 * and when the process leaves at the latest.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/schema.js';
import { exitMarginSeconds, hardStopMs, stopTimeoutWithin } from '../../src/config/stop-budget.js';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/pool.js';

const load = (flags: Record<string, unknown>, env: NodeJS.ProcessEnv = {}) => loadConfig({ flags, env });

describe('stop budget', () => {
  it('without a budget, nothing changes: stop-timeout 25 s, the process leaves 1 s after it at the latest', () => {
    const c = load({});
    expect(c.stopBudget).toBeUndefined();
    expect(c.stopTimeout).toBe(25);
    expect(hardStopMs(c)).toBe(26_000);
  });

  it('a budget alone sets the stop-timeout to the budget less the exit margin (1 s, a quarter under 4 s)', () => {
    expect(load({ 'stop-budget': '10' })).toMatchObject({ stopBudget: 10, stopTimeout: 9 });
    expect(load({}, { WORKER_POOL_STOP_BUDGET: '30' })).toMatchObject({ stopBudget: 30, stopTimeout: 29 });
    expect(load({ 'stop-budget': '2' })).toMatchObject({ stopBudget: 2, stopTimeout: 1.5 });
    for (const budget of [1, 1.5, 2, 3.9, 4, 10, 30, 600]) {
      const c = load({ 'stop-budget': String(budget) });
      // The stop ends before the hard stop, which is before the platform's kill.
      expect(c.stopTimeout * 1000).toBeLessThan(hardStopMs(c));
      expect(hardStopMs(c)).toBeLessThan(budget * 1000);
      expect(stopTimeoutWithin(budget)).toBeCloseTo(budget - exitMarginSeconds(budget), 9);
    }
  });

  it('a stop-timeout that fits is kept; one that does not is refused, naming both and what is allowed', () => {
    expect(load({ 'stop-budget': '10', 'stop-timeout': '5' })).toMatchObject({ stopTimeout: 5 });
    expect(load({ 'stop-budget': '10', 'stop-timeout': '9' })).toMatchObject({ stopTimeout: 9 });
    expect(() => load({ 'stop-budget': '10', 'stop-timeout': '25' })).toThrow(ConfigError);
    expect(() => load({ 'stop-timeout': '25' }, { WORKER_POOL_STOP_BUDGET: '10' })).toThrow(
      "stop-timeout: 25 is not allowed with stop-budget 10; a stop must end 1 s before the platform's kill, so it must be ≤ 9 (or leave it out: the budget sets it)",
    );
    expect(() => load({ 'stop-budget': '0.5' })).toThrow(/--stop-budget: "0.5" is not allowed; expected a number of seconds ≥ 1/);
  });

  it('the command refuses the contradiction with one line and exit 78', async () => {
    const r = await runCli(['--processor', fixture('sleep.mjs'), '--stop-budget', '10', '--stop-timeout', '25']);
    expect(r.code).toBe(78);
    expect(`${r.stdout}${r.stderr}`).toMatch(/stop-timeout: 25 is not allowed with stop-budget 10/);
    expect(`${r.stdout}${r.stderr}`).not.toMatch(/\n\s+at /); // no stack trace
  });
});
