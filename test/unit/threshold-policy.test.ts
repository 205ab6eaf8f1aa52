import { describe, expect, it } from 'vitest';
import { decideScale } from '../../src/policy/threshold.js';
import type { ScaleSnapshot } from '../../src/policy/types.js';

const base: ScaleSnapshot = { workers: 3, minWorkers: 2, maxWorkers: 5, utilization: 0.4, threshold: 0.5, measuredMs: 30_000, periodMs: 5000 };
const decide = (over: Partial<ScaleSnapshot>) => decideScale({ ...base, ...over });

describe('threshold policy', () => {
  it.each([
    // utilization, workers, expected action, expected target
    [0.51, 3, 'up', 4],
    [0.5, 3, 'hold', 3], // at the threshold: not above it
    [0.49, 3, 'hold', 3],
    [0.25, 3, 'hold', 3], // at half the threshold: not below it
    [0.2499, 3, 'down', 2],
    [0, 3, 'down', 2],
    [1, 3, 'up', 4],
    [0.9, 5, 'hold', 5], // clamped at max
    [0.1, 2, 'hold', 2], // clamped at min
  ] as const)('utilization %s with %s workers → %s to %s', (utilization, workers, action, target) => {
    const d = decide({ utilization, workers });
    expect(d.action).toBe(action);
    expect(d.target).toBe(target);
    expect(d.reason).not.toBe('');
  });

  it('holds when nothing has been measured yet', () => {
    expect(decide({ utilization: null })).toMatchObject({ action: 'hold', target: 3, reason: 'no usage sample yet' });
  });

  it('brings a pool below min or above max back inside the bounds', () => {
    expect(decide({ workers: 0, utilization: null })).toMatchObject({ action: 'up', target: 2 });
    expect(decide({ workers: 7, utilization: 0.9 })).toMatchObject({ action: 'down', target: 5 });
  });

  it('waits until the pool has been measured for a full period at its current size', () => {
    const d = decide({ utilization: 0.9, measuredMs: 4999 });
    expect(d).toMatchObject({ action: 'hold', target: 3 });
    expect(d.reason).toMatch(/pool changed size 5\.0 s ago/);
    expect(decide({ utilization: 0.9, measuredMs: 5000 })).toMatchObject({ action: 'up', target: 4 });
  });

  it('uses the configured threshold, not a fixed one', () => {
    expect(decide({ threshold: 0.8, utilization: 0.7 }).action).toBe('hold');
    expect(decide({ threshold: 0.8, utilization: 0.39 }).action).toBe('down');
    expect(decide({ threshold: 0.2, utilization: 0.21 }).action).toBe('up');
  });
});

describe('threshold policy reasons (issue 27.12)', () => {
  /** The two numbers a reason compares, as printed: `utilization X > threshold Y`, `X < Y`, `X < half threshold Y`. */
  const compared = (reason: string): [number, string, number] | undefined => {
    const m = /utilization ([\d.]+) (>|<) (?:half )?(?:threshold )?([\d.]+)/.exec(reason);
    return m ? [Number(m[1]), m[2]!, Number(m[3])] : undefined;
  };

  it('never prints equal numbers for a strict comparison', () => {
    // Near the threshold and near half of it, from both sides, and random points.
    const points = [0.5004, 0.50001, 0.5 + 1e-12, 0.24996, 0.2499999, 0.25 - 1e-13];
    let seed = 27;
    for (let i = 0; i < 500; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      points.push(seed / 2 ** 31);
    }
    for (const utilization of points) {
      for (const saturated of [false, true]) {
        const d = decide({ utilization, saturated, backlog: 10, measuredMs: saturated ? 1000 : 30_000 });
        const c = compared(d.reason);
        if (!c) continue;
        const [u, op, bound] = c;
        expect(u, d.reason).not.toBe(bound);
        expect(op === '>' ? u > bound : u < bound, d.reason).toBe(true);
      }
    }
    expect(decide({ utilization: 0.5004 }).reason).toBe('utilization 0.5004 > threshold 0.5000');
  });

  it('keeps two decimals where they tell the numbers apart', () => {
    expect(decide({ utilization: 0.9 }).reason).toBe('utilization 0.90 > threshold 0.50');
    expect(decide({ utilization: 0.1 }).reason).toBe('utilization 0.10 < half threshold 0.25');
  });
});
