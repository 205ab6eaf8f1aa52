/** The fleet's pure parts: the view built from the registry listing, listeners per queue, the capped policy, the shared backlog. */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { cappedPolicy, type FleetCap } from '../../src/fleet/cap.js';
import { fleetView, listenersByQueue, parseListing } from '../../src/fleet/view.js';
import type { ScalePolicy, ScaleSnapshot } from '../../src/policy/types.js';
import { PoolDemand } from '../../src/scaling/pool-demand.js';
import type { Supervisor } from '../../src/supervisor/supervisor.js';

const info = (host: string, queues: string[], epoch: number) => JSON.stringify({ host, name: 'p', pid: 1, pool: 'p', queues, workers: 2, busy: 1, concurrency: 2, utilization: 0.5, tokenBases: [`e${epoch}/`] });
const row = (id: string, expiry: number, beat: number, claimer: string, json: string) => [id, expiry, beat, claimer, json, json.length];

// LIST's reply: Redis' now, then id, lease expiry, last renewal, claimer, info and its length per registration.
const listing = parseListing([10_000, ...row('a/p#1', 12_000, 9_500, '', info('a', ['q', 'r'], 1)), ...row('b/p#2', 9_000, 4_000, '', info('b', ['q'], 2)), ...row('c/p#3', 20_000, 3_000, 'a/p#1', info('c', ['q'], 3))]);

describe('fleet view', () => {
  it('marks live, lost (lease ran out, unclaimed) and recovering (claimed), with the epoch and heartbeat age', () => {
    const v = fleetView(listing.now, listing.rows);
    expect(v.instances.map((i) => [i.host, i.state, i.epoch, i.heartbeatAgeSeconds])).toEqual([
      ['a', 'live', 1, 0.5],
      ['b', 'lost', 2, 6],
      ['c', 'recovering', 3, 7],
    ]);
    expect(v.instances[0]).toMatchObject({ pool: 'p', name: 'p', queues: ['q', 'r'], workers: 2, busy: 1, concurrency: 2, utilization: 0.5 });
  });

  it('counts the instances listening to each queue, leaving out those being recovered', () => {
    expect(Object.fromEntries(listenersByQueue(listing.now, listing.rows))).toEqual({ q: 2, r: 1 });
  });
});

describe('capped policy', () => {
  const snap = (workers: number): ScaleSnapshot => ({ workers, minWorkers: 1, maxWorkers: 10, utilization: 0.9, threshold: 0.5, measuredMs: 5000, periodMs: 5000 });
  const wants = (target: number): ScalePolicy => (s) => ({ action: target > s.workers ? 'up' : target < s.workers ? 'down' : 'hold', target, reason: 'busy' });
  const cap = (held: number, fleetHeld: number, max = 4) => ({ max, heldCount: held, fleetHeld, wanted: 0, allowed: () => held + Math.max(0, max - fleetHeld) }) as unknown as FleetCap;

  it('holds, and says so, when no slot is free fleet-wide; remembers what it wanted', () => {
    const c = cap(2, 4);
    const d = cappedPolicy(wants(5), c)(snap(2));
    expect(d).toMatchObject({ action: 'hold', target: 2 });
    expect(d.reason).toContain('fleet cap 4');
    expect(c.wanted).toBe(5);
  });

  it('grows to what the free slots allow, and never caps a scale-down', () => {
    expect(cappedPolicy(wants(5), cap(1, 3))(snap(1))).toMatchObject({ action: 'up', target: 2 });
    expect(cappedPolicy(wants(1), cap(3, 4))(snap(3))).toMatchObject({ action: 'down', target: 1, reason: 'busy' });
  });
});

describe('shared backlog', () => {
  it("divides each queue's backlog by the live instances listening to it", async () => {
    const counts = (waiting: number) => ({ counts: { waiting, prioritized: 0 }, oldestAgeSeconds: 3, paused: false });
    const probe = { backlog: async () => ({ waiting: 130, oldestWaitMs: 3000 }), snapshot: async () => ({ q: counts(100), r: counts(30) }) };
    const supervisor = { on: () => undefined, workers: () => [], settings: { concurrency: 1 }, usage: { totals: () => ({ busyMs: 0 }), window: 1000 } } as unknown as Supervisor;
    const alone = new PoolDemand(supervisor, probe as never, new ManualClock(), 1000);
    await alone.refresh();
    expect(alone.signals().backlog).toBe(130);
    const shared = new PoolDemand(supervisor, probe as never, new ManualClock(), 1000, () => new Map([['q', 3]]));
    await shared.refresh();
    expect(shared.signals().backlog).toBe(34 + 30);
  });
});
