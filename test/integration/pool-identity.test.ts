/**
 * Issue 27.1: a pool is its prefix, name and queues, not its name alone. Two different pools under
 * one name on one fleet get a warning that names both; instances of one pool do not.
 */
import { describe, expect, it } from 'vitest';
import { nameClashes } from '../../src/daemon/fleet-wiring.js';
import type { FleetInstance } from '../../src/fleet/view.js';
import { poolIdentity } from '../../src/observe/pool-identity.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

describe('pool identity', () => {
  it('is prefix, name and the set of queues', () => {
    const base = { prefix: 'bull', name: 'default', queues: ['a', 'b'], queueSelector: undefined };
    expect(poolIdentity(base)).toMatch(/^[0-9a-f]{12}$/);
    expect(poolIdentity({ ...base, queues: ['b', 'a'] })).toBe(poolIdentity(base));
    expect(poolIdentity({ ...base, queues: ['a'] })).not.toBe(poolIdentity(base));
    expect(poolIdentity({ ...base, prefix: 'other' })).not.toBe(poolIdentity(base));
    expect(poolIdentity({ ...base, name: 'mail' })).not.toBe(poolIdentity(base));
  });

  it('a clash is a live instance under the same name with other queues', () => {
    const inst = (id: string, queues: string[], state: FleetInstance['state'] = 'live') => ({ id, pool: 'default', queues, state }) as FleetInstance;
    const self = { id: 'me', pool: 'default', queues: ['a', 'b'] };
    expect(nameClashes(self, [inst('me', ['x']), inst('peer', ['b', 'a']), inst('gone', ['x'], 'lost'), inst('other', ['c'])]).map((i) => i.id)).toEqual(['other']);
  });

  it('two different pools under one name on one fleet: the second warns, naming both', async () => {
    const prefix = uniquePrefix('clash');
    const flags = { prefix, processor: fixture('sleep.mjs'), 'min-workers': 0, 'max-workers': 1 };
    const first = await startPool({ ...flags, queues: 'orders' });
    await until(() => first.daemon.fleet.state === 'live', 'the first registered', 10_000);
    const same = await startPool({ ...flags, queues: 'orders' });
    const second = await startPool({ ...flags, queues: 'emails,reports' });
    const warning = await until(() => second.logs.find((l) => /two different pools are named "default"/.test(String(l['msg']))), 'the warning', 15_000);
    expect(String(warning['msg'])).toMatch(/\/default \(pid \d+, queues orders\) and this one, .*\/default \(pid \d+, queues emails,reports\)/);
    await until(() => same.daemon.fleet.state === 'live', 'the same pool registered', 10_000);
    // Another instance of the same pool (same queues) is no clash.
    expect(same.logs.filter((l) => /two different pools/.test(String(l['msg'])) && !String(l['msg']).includes('emails'))).toEqual([]);
  });
});
