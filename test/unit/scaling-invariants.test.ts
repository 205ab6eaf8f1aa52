import { describe, expect, it } from 'vitest';
import { decideScale } from '../../src/policy/threshold.js';

/** A small deterministic PRNG so a failure can be replayed from its seed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('threshold policy invariants over random ticks', () => {
  it.each([1, 2, 3, 4, 5])('seed %s: workers stay within [min, max] and move by at most one per period', (seed) => {
    const r = rng(seed);
    const min = 1 + Math.floor(r() * 4);
    const max = min + Math.floor(r() * 8);
    const threshold = 0.05 + r() * 0.95;
    let workers = min;
    const violations: string[] = [];
    const check = (ok: boolean, what: string, tick: number) => {
      if (!ok && violations.length < 5) violations.push(`tick ${tick}: ${what}`);
    };
    for (let tick = 0; tick < 5000; tick++) {
      const u = r() < 0.05 ? null : r() < 0.1 ? (r() < 0.5 ? 0 : 1) : r();
      const measuredMs = r() < 0.2 ? r() * 5000 : 5000 + r() * 25_000;
      const d = decideScale({ workers, minWorkers: min, maxWorkers: max, utilization: u, threshold, measuredMs, periodMs: 5000 });
      check(Math.abs(d.target - workers) <= 1, `moved from ${workers} to ${d.target}`, tick);
      check(d.target >= min && d.target <= max, `target ${d.target} outside [${min}, ${max}]`, tick);
      if (d.action !== 'hold') check(measuredMs >= 5000 || workers < min || workers > max, `changed after only ${measuredMs} ms at this size`, tick);
      if (d.action === 'up') check(u === null || u > threshold, `up at utilization ${u}`, tick);
      if (d.action === 'down') check(u !== null && u < threshold / 2, `down at utilization ${u}`, tick);
      if (d.action === 'hold') check(d.target === workers, 'hold changed the target', tick);
      workers = d.target;
    }
    expect(violations).toEqual([]);
  });
});
