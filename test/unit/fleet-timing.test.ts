/**
 * Issue 25, item 8: every lock duration the schema allows starts with the lease and heartbeat left
 * unwritten (derived: lease = min(5, lock / 2), heartbeat = min(1, lease / 5)); written values are
 * kept; only values the user wrote can contradict each other; a reload that changes the lock below
 * the running lease keeps the old lock until a restart.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, type RawValues } from '../../src/config/load.js';
import { planReload } from '../../src/config/reload-plan.js';
import { configErrorOf as error } from '../helpers/config-error.js';

const load = (flags: RawValues, env: NodeJS.ProcessEnv = {}) => loadConfig({ flags, env });

describe('fleet lease and heartbeat', () => {
  it('the defaults are unchanged: lease 5 s, heartbeat 1 s', () => {
    expect(load({})).toMatchObject({ lockDuration: 30, leaseSeconds: 5, heartbeatSeconds: 1 });
  });

  it('every lock duration allowed starts, the lease below it and above the heartbeat', () => {
    const locks = [1, 1.2, 2, 3, 4, 5, 6, 9, 10, 10.5, 30, 600, 86400];
    for (const lock of locks) {
      const c = load({ 'lock-duration': lock });
      expect(c.leaseSeconds, `lock ${lock}`).toBe(Math.min(5, lock / 2));
      expect(c.heartbeatSeconds, `lock ${lock}`).toBe(Math.max(0.1, Math.min(1, c.leaseSeconds / 5)));
      expect(c.leaseSeconds).toBeLessThan(c.lockDuration);
      expect(c.leaseSeconds).toBeGreaterThan(c.heartbeatSeconds);
    }
    // From the environment and a file alike.
    expect(load({}, { WORKER_POOL_LOCK_DURATION: '4' })).toMatchObject({ leaseSeconds: 2, heartbeatSeconds: 0.4 });
  });

  it('keeps what the user wrote, and derives only the rest', () => {
    expect(load({ 'lock-duration': 4, 'lease-seconds': 3 })).toMatchObject({ leaseSeconds: 3, heartbeatSeconds: 0.6 });
    expect(load({ 'lease-seconds': 25 })).toMatchObject({ leaseSeconds: 25, heartbeatSeconds: 1 });
    expect(load({ 'lease-seconds': 0.2 })).toMatchObject({ leaseSeconds: 0.2, heartbeatSeconds: 0.1 });
    expect(load({ 'heartbeat-seconds': 0.5 })).toMatchObject({ leaseSeconds: 5, heartbeatSeconds: 0.5 });
    // A written heartbeat the derived lease would not stay above: the lease goes halfway to the lock.
    expect(load({ 'lock-duration': 4, 'heartbeat-seconds': 3 })).toMatchObject({ leaseSeconds: 3.5, heartbeatSeconds: 3 });
    expect(load({ 'lock-duration': 2, 'heartbeat-seconds': 1 })).toMatchObject({ leaseSeconds: 1.5, heartbeatSeconds: 1 });
  });

  it('refuses only contradictions the user wrote, naming them', () => {
    expect(error(() => load({ 'lock-duration': 4, 'lease-seconds': 5 }))).toMatch(/^lease-seconds: 5 is not allowed; it must be below lock-duration \(4\)/);
    expect(error(() => load({ 'lease-seconds': 40 }))).toMatch(/^lease-seconds: 40 is not allowed; it must be below lock-duration \(30, the default\)/);
    expect(error(() => load({ 'lease-seconds': 2, 'heartbeat-seconds': 2 }))).toMatch(/^lease-seconds: 2 is not allowed; it must be above heartbeat-seconds \(2\)/);
    expect(error(() => load({ 'lease-seconds': 0.05 }))).toMatch(/^lease-seconds: 0.05 is not allowed; it must be above heartbeat-seconds \(0.1\)/);
    expect(error(() => load({ 'lock-duration': 4, 'heartbeat-seconds': 4 }))).toMatch(/^heartbeat-seconds: 4 is not allowed; it must be below lock-duration \(4\)/);
  });

  it('a reload to a lock the running lease would not stay below keeps the old lock until a restart', () => {
    // The derived lease and heartbeat change with the lock: they, and so the lock, wait for a restart.
    const plan = planReload(load({}), load({ 'lock-duration': 4 }));
    expect(plan.needRestart).toEqual(['heartbeat-seconds', 'lease-seconds', 'lock-duration']);
    expect(plan.effective).toMatchObject({ lockDuration: 30, leaseSeconds: 5, heartbeatSeconds: 1 });
    expect(plan.changed).toEqual([]);
    expect(plan.replaceWorkers).toBe(false);
    // A lock the lease stays below is applied (new workers), the lease kept.
    expect(planReload(load({}), load({ 'lock-duration': 20 }))).toMatchObject({ changed: ['lock-duration'], replaceWorkers: true, effective: { lockDuration: 20, leaseSeconds: 5 } });
  });
});
