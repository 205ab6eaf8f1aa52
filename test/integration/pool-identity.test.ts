/**
 * Issue 27.1: a pool is its prefix, name and queues, not its name alone. Two different pools under
 * one name on one fleet get a warning that names both; instances of one pool do not.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { nameClashes } from '../../src/daemon/fleet-wiring.js';
import type { FleetInstance } from '../../src/fleet/view.js';
import { poolIdentity } from '../../src/observe/pool-identity.js';
import { fixture, startDaemon } from '../helpers/daemon.js';
import { deletePrefix, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const stops: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

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
    const flags = { 'redis-url': redisUrl(), prefix, processor: fixture('sleep.mjs'), 'min-workers': 0, 'max-workers': 1 };
    const first = await startDaemon({ ...flags, queues: 'orders' });
    stops.push(() => first.stop());
    await until(() => first.fleet.state === 'live', 'the first registered', 10_000);
    const same = await startDaemon({ ...flags, queues: 'orders' });
    stops.push(() => same.stop());
    const second = await startDaemon({ ...flags, queues: 'emails,reports' });
    stops.push(() => second.stop(), () => deletePrefix(prefix));
    const warning = await until(() => second.logs.find((l) => /two different pools are named "default"/.test(String(l['msg']))), 'the warning', 15_000);
    expect(String(warning['msg'])).toMatch(/\/default \(pid \d+, queues orders\) and this one, .*\/default \(pid \d+, queues emails,reports\)/);
    await until(() => same.fleet.state === 'live', 'the same pool registered', 10_000);
    // Another instance of the same pool (same queues) is no clash.
    expect(same.logs.filter((l) => /two different pools/.test(String(l['msg'])) && !String(l['msg']).includes('emails'))).toEqual([]);
  });
});
