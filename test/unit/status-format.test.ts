/** `worker-pool status` as text: scaling changes in local time, as the live page shows them, and "none yet" when there are none. */
import { describe, expect, it } from 'vitest';
import { formatStatus, localTime } from '../../src/cli/status.js';
import type { PoolStatus } from '../../src/daemon/daemon.js';

const base = {
  pool: 'p', version: '0', redis: { url: 'redis://x', up: true }, queues: ['q'], concurrency: 1, globalConcurrency: {}, minWorkers: 1, maxWorkers: 4,
  desiredWorkers: 1, runningWorkers: 1, fatalSlots: [], utilization: 0.1, utilizationThreshold: 0.5, scalingPeriodSeconds: 5, windowSeconds: 30, ready: true,
  workers: [], decisions: [], changes: [], queueCounts: null, queueOldestAgeSeconds: null, pausedQueues: [], lastReload: null,
} as unknown as PoolStatus;

describe('status text', () => {
  it('prints times as local HH:MM:SS, like the page (toTimeString), with how long ago', () => {
    const now = Date.now();
    const at = now - 125_000;
    expect(localTime(at, now)).toBe(`${new Date(at).toTimeString().slice(0, 8)} (2m05s ago)`);
    const yesterday = now - 86_400_000 * 2;
    expect(localTime(yesterday, now)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+h\d\dm ago\)$/);
  });

  it('lists the changes (not the holds) and says "none yet" without any', () => {
    const now = Date.now();
    const up = { at: now - 600_000, action: 'up' as const, utilization: 0.9, workersBefore: 1, workersAfter: 2, reason: 'busy' };
    const hold = { ...up, at: now - 1000, action: 'hold' as const, workersBefore: 2, reason: 'steady' };
    const text = formatStatus({ ...base, decisions: [hold], changes: [up] }, now);
    expect(text).toContain(`recent scaling (local time):\n  ${new Date(up.at).toTimeString().slice(0, 8)} (10m00s ago) up 1→2: busy`);
    expect(text).not.toContain('steady');
    expect(formatStatus(base, now)).toContain('recent scaling: none yet');
  });
});
