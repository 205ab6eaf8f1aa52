/**
 * Issue 16: when every slot is busy and jobs wait, the next decision does not wait for the end of
 * the scaling period. A pool with a 30 s period on a full queue reaches 3 workers, one step per
 * decision, long before its first periodic decision could have added even one. Times are printed.
 */
import { describe, expect, it } from 'vitest';
import type { ChildMessage } from '../../src/ipc/messages.js';
import type { ControlLoop, DecisionRecord } from '../../src/scaling/control-loop.js';
import type { WorkerProcess } from '../../src/supervisor/worker-process.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { queue } from '../helpers/redis.js';
import { once } from '../helpers/wait.js';

const PERIOD_S = 30;

const startPool = poolPerTest();

/** The first decision (from now on) that matches. */
function decision(loop: ControlLoop, match: (d: DecisionRecord) => boolean, what: string, timeoutMs: number): Promise<DecisionRecord> {
  return new Promise((resolve, reject) => {
    let done = false;
    const timer = setTimeout(() => ((done = true), reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`))), timeoutMs);
    loop.onDecision((d) => {
      if (done || !match(d)) return;
      done = true;
      clearTimeout(timer);
      resolve(d);
    });
  });
}

describe('early decisions (every slot busy, jobs waiting)', () => {
  it(`a saturated pool with --scaling-period ${PERIOD_S} reaches 3 workers well before ${PERIOD_S} s, one step at a time`, async () => {
    const pool = await startPool({ processor: fixture('sleep.mjs'), 'min-workers': 1, 'max-workers': 3, concurrency: 2, 'scaling-period': PERIOD_S, window: PERIOD_S, 'utilization-threshold': 0.5, 'stop-timeout': 5 });
    const { daemon } = pool;
    const decisions: DecisionRecord[] = [];
    daemon.loop.onDecision((d) => decisions.push(d));
    const q = queue('default', pool.prefix);
    // 400 jobs of 300 ms: two minutes of work for the first worker's two slots.
    await q.addBulk(Array.from({ length: 400 }, () => ({ name: 'sleep', data: { ms: 300 }, opts: { removeOnComplete: true } })));
    const t0 = performance.now();
    await once(daemon.supervisor, 'worker-ready', () => daemon.supervisor.runningCount() >= 3, (PERIOD_S * 1000) / 2);
    const s = (performance.now() - t0) / 1000;
    const context = decisions.map((d) => `${d.workersBefore}→${d.workersAfter} ${d.reason}`).join('\n');
    console.log(`1 → 3 workers in ${s.toFixed(1)} s (scaling period ${PERIOD_S} s)\n${context}`);
    expect(decisions.map((d) => [d.workersBefore, d.workersAfter]), context).toEqual([[1, 2], [2, 3]]);
    for (const d of decisions) expect(d.reason, context).toMatch(/every slot busy and \d+ jobs waiting/);
    // At max-workers the pool stays there however busy it is: no early decision adds a fourth.
    await once<[WorkerProcess, ChildMessage]>(daemon.supervisor, 'worker-message', (_w, m) => m.type === 'sample' && m.busySlots === 2 && performance.now() - t0 > s * 1000 + 2000, 10_000);
    expect(daemon.supervisor.desired).toBe(3);
    expect(daemon.supervisor.workers().length).toBe(3);
    await q.close();
  }, 60_000);

  it('after a quiet spell longer than a period, a burst gets its first extra worker early, not when the window average catches up', async () => {
    // Issue 27: a pool idle past its window held for half a window with every slot busy, because
    // the early step needed the window's average (kept low by the idle time) above the threshold.
    const pool = await startPool({ processor: fixture('sleep.mjs'), 'min-workers': 1, 'max-workers': 3, concurrency: 5, 'scaling-period': 3, window: 20, 'utilization-threshold': 0.5, 'stop-timeout': 5 });
    const { daemon } = pool;
    const decisions: DecisionRecord[] = [];
    daemon.loop.onDecision((d) => decisions.push(d));
    // A periodic decision on a full period at this size: the pool has been quiet for longer than a period.
    await decision(daemon.loop, (d) => d.action === 'hold' && /utilization [\d.]+ < /.test(d.reason), 'a decision over a full, idle period', 15_000);
    const q = queue('default', pool.prefix);
    await q.addBulk(Array.from({ length: 200 }, () => ({ name: 'sleep', data: { ms: 2000 }, opts: { removeOnComplete: true } })));
    const t0 = performance.now();
    const first = await decision(daemon.loop, (d) => d.action === 'up', 'the first step up', 20_000);
    const s = (performance.now() - t0) / 1000;
    const context = decisions.map((d) => `${d.action} ${d.workersBefore}→${d.workersAfter} ${d.reason}`).join('\n');
    console.log(`quiet pool, then a burst: first step up ${s.toFixed(1)} s after the jobs were added\n${context}`);
    expect(first.reason, context).toMatch(/every slot busy and \d+ jobs waiting/);
    await q.close();
  }, 60_000);
});
