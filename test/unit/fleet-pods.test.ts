/**
 * The pod-level signal (pure): the workers the pool's live instances want, over one pod's
 * max-workers, rounded up, within fleet-max-workers; the same answer whichever pod computes it;
 * registrations of other pools, lost or being recovered, or with a demand that is not a count, are
 * not counted as such. And the workers an instance publishes: its policy's demand, not bounded by
 * max-workers, at least min-workers.
 */
import { describe, expect, it } from 'vitest';
import { podSignal } from '../../src/fleet/pods.js';
import type { InstanceInfo, RegistryRow } from '../../src/fleet/view.js';
import { workersWanted } from '../../src/policy/workers-wanted.js';
import type { ScaleSnapshot } from '../../src/policy/types.js';

const NOW = 1_000_000;
const row = (id: string, info: Partial<InstanceInfo>, over: Partial<RegistryRow> = {}): RegistryRow => ({ id, leaseExpiry: NOW + 5000, lastBeat: NOW - 500, claimedBy: '', info: { pool: 'p', desired: 1, ...info } as InstanceInfo, ...over });
const own = { pool: 'p', maxWorkers: 4, fleetMaxWorkers: undefined };

describe('podSignal', () => {
  it('sums the live instances\' demand over one pod\'s max-workers, rounded up', () => {
    const rows = [
      row('a/p#1', { demand: { workers: 5, maxWorkers: 4 } }),
      row('b/p#2', { demand: { workers: 3, maxWorkers: 4 } }),
      row('c/p#3', { demand: { workers: 4, maxWorkers: 4 } }),
      row('d/q#4', { pool: 'q', demand: { workers: 40, maxWorkers: 4 } }), // another pool
      row('e/p#5', { demand: { workers: 40, maxWorkers: 4 } }, { leaseExpiry: NOW - 1 }), // lost
      row('f/p#6', { demand: { workers: 40, maxWorkers: 4 } }, { claimedBy: 'a/p#1' }), // being recovered
    ];
    const s = podSignal({ now: NOW, rows }, own);
    expect(s).toMatchObject({ pool: 'p', desiredPods: 3, demandWorkers: 12, maxWorkersPerPod: 4, currentPods: 3, fleetMaxWorkers: null, maxPods: null, at: NOW });
    expect(s.reason).toBe('12 workers wanted by 3 pods (each at its highest over its window), 4 per pod: 3 pods');
    expect(podSignal({ now: NOW, rows: rows.slice(0, 2) }, own).desiredPods).toBe(2);
    expect(podSignal({ now: NOW, rows: [row('a/p#1', { demand: { workers: 0, maxWorkers: 4 } })] }, own).desiredPods).toBe(0);
  });

  it('within fleet-max-workers: no more pods than the cap lets work (the tightest cap a live instance reports)', () => {
    const rows = [row('a/p#1', { demand: { workers: 20, maxWorkers: 4 }, fleetMaxWorkers: 10 }), row('b/p#2', { demand: { workers: 20, maxWorkers: 4 }, fleetMaxWorkers: 12 })];
    const s = podSignal({ now: NOW, rows }, own);
    expect(s).toMatchObject({ desiredPods: 3, demandWorkers: 40, fleetMaxWorkers: 10, maxPods: 3 });
    expect(s.reason).toBe('40 workers wanted by 2 pods (each at its highest over its window), 4 per pod: 10 pods, capped at 3 by fleet-max-workers 10');
  });

  it('is the same whichever pod computes it (its own settings only fill in what the registry lacks)', () => {
    const rows = [row('a/p#1', { demand: { workers: 7, maxWorkers: 3 }, fleetMaxWorkers: 8 }), row('b/p#2', { demand: { workers: 2, maxWorkers: 3 }, fleetMaxWorkers: 8 })];
    const a = podSignal({ now: NOW, rows }, { pool: 'p', maxWorkers: 3, fleetMaxWorkers: 8 });
    const b = podSignal({ now: NOW, rows: [...rows].reverse() }, { pool: 'p', maxWorkers: 5, fleetMaxWorkers: undefined });
    expect(b.desiredPods).toBe(a.desiredPods);
    expect({ ...b, instances: [] }).toEqual({ ...a, instances: [] });
    expect(a.desiredPods).toBe(3);
  });

  it('a registration without a valid demand (an older daemon, a bad entry) counts the workers it runs for', () => {
    const rows = [
      row('a/p#1', { desired: 3 }),
      row('b/p#2', { desired: 2, demand: { workers: -1, maxWorkers: 4 } }),
      row('c/p#3', { desired: 1, demand: { workers: 'many', maxWorkers: 4 } as never }),
      row('d/p#4', { desired: 2.5 as never, demand: { workers: 2, maxWorkers: 0 } }),
    ];
    const s = podSignal({ now: NOW, rows }, own);
    expect(s.instances.map((i) => i.demandWorkers)).toEqual([3, 2, 1, 0]);
    expect(s).toMatchObject({ demandWorkers: 6, maxWorkersPerPod: 4, desiredPods: 2 });
  });

  it('with no live instance of the pool yet: nothing wanted, its own cap', () => {
    expect(podSignal({ now: NOW, rows: [] }, { pool: 'p', maxWorkers: 4, fleetMaxWorkers: 9 })).toMatchObject({ desiredPods: 0, currentPods: 0, fleetMaxWorkers: 9, maxPods: 3 });
  });
});

describe('workersWanted', () => {
  const busy: ScaleSnapshot = { workers: 2, minWorkers: 1, maxWorkers: 2, utilization: 1, threshold: 0.5, measuredMs: 5000, periodMs: 5000, concurrency: 1, busySlots: 2, backlog: 0 };
  const w = { policy: 'threshold' as const, drainTargetMs: 5000, targetWaitMs: 2000 };

  it('threshold/adaptive: busy slots at the target utilization plus what clears the backlog, past max-workers', () => {
    expect(workersWanted(busy, w)).toBe(4);
    // 10 jobs of 1 s waiting, to be cleared within 5 s: 2 slots more.
    expect(workersWanted({ ...busy, backlog: 10, meanJobMs: 1000 }, w)).toBe(6);
    expect(workersWanted({ ...busy, concurrency: 2, busySlots: 4 }, { ...w, policy: 'adaptive' })).toBe(4);
  });

  it('at least min-workers; an idle pool wants what min-workers keeps', () => {
    expect(workersWanted({ ...busy, utilization: 0, busySlots: 0 }, w)).toBe(1);
    expect(workersWanted({ ...busy, minWorkers: 0, workers: 0, utilization: null, busySlots: 0 }, w)).toBe(0);
    expect(workersWanted({ ...busy, minWorkers: 0, workers: 0, utilization: null, busySlots: 0, backlog: 3 }, w)).toBeGreaterThanOrEqual(1);
  });

  it('latency: the slots that keep waits under the target', () => {
    const s = { ...busy, arrivalRate: 10, recentArrivalRate: 10, meanJobMs: 1000, busySlots: 10 };
    expect(workersWanted(s, { ...w, policy: 'latency' })).toBeGreaterThan(10);
  });
});
