/**
 * Issue 3, crash back-off: a processor that fails to load is restarted after 1 s, 2 s, 4 s, 8 s;
 * the fifth failed start makes the slot fatal (status, metrics, readyz, one error log line with the
 * load error); after the (shortened) cooldown it is tried again. Real children, real clock.
 */
import { describe, expect, it } from 'vitest';
import type { WorkerProcess } from '../../src/supervisor/worker-process.js';
import type { Slot, WorkerExit } from '../../src/supervisor/supervisor.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { once } from '../helpers/wait.js';
import { readStatus } from '../helpers/http-request.js';

const startPool = poolPerTest();

describe('crash back-off and the fatal state', () => {
  it('restarts a failing start after 1, 2, 4, 8 s, goes fatal at the 5th, and retries after the cooldown', async () => {
    const forks: number[] = [];
    const exits: WorkerExit[] = [];
    const cpuBefore = process.cpuUsage();
    const t0 = performance.now();
    const { daemon: d, logs } = await startPool({ queues: 'q', processor: fixture('exit-on-load.mjs'), 'min-workers': '1', 'max-workers': '1', 'fatal-cooldown': '3' }, { waitReady: false });
    d.supervisor.on('worker-started', (w) => forks.push(w.forkedAt));
    d.supervisor.on('worker-exit', (e) => exits.push(e));
    // The first child may have been forked before we listened.
    if (forks.length === 0) for (const w of d.supervisor.workers()) forks.push(w.forkedAt);

    const [slot] = await once<[Slot]>(d.supervisor, 'slot-fatal', () => true, 40_000);
    const fatalAt = performance.now();
    expect(exits.map((e) => e.reason)).toEqual(['failed_start', 'failed_start', 'failed_start', 'failed_start', 'failed_start']);
    expect(forks).toHaveLength(5);
    const gaps = forks.slice(1).map((f, i) => (f - exits[i]!.worker.exitedAt!) / 1000);
    console.log(`back-off between a failed start and the next fork: ${gaps.map((g) => g.toFixed(2)).join(' s, ')} s`);
    const expected = [1, 2, 4, 8];
    gaps.forEach((g, i) => {
      expect(g).toBeGreaterThanOrEqual(expected[i]! - 0.02);
      expect(g).toBeLessThan(expected[i]! + 1.5);
    });
    const cpu = process.cpuUsage(cpuBefore);
    console.log(`supervisor (test process) CPU during the ${((fatalAt - t0) / 1000).toFixed(1)} s crash loop: ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s`);

    // Fatal is visible everywhere an operator looks.
    expect(slot.failedStarts).toBe(5);
    const status = await readStatus(d.url);
    expect(status.fatalSlots).toHaveLength(1);
    // A loopback-only pool without an access file shows the reason to every client (issue 27.6).
    expect(status.fatalSlots[0]!.lastError).toMatch(/this processor refuses to load/);
    expect((await d.status()).fatalSlots[0]!.lastError).toMatch(/this processor refuses to load/);
    expect(status.ready).toBe(false);
    expect((await fetch(`${d.url}/readyz`)).status).toBe(503);
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/worker_pool_workers\{state="fatal",pool="default"\} 1/);
    expect(metrics).toMatch(/worker_pool_worker_exits_total\{reason="failed_start",pool="default"\} 5/);
    const errors = logs.filter((l) => l['level'] === 50 && /slot is fatal/.test(String(l['msg'])));
    expect(errors).toHaveLength(1);
    expect(String(errors[0]!['loadError'])).toMatch(/this processor refuses to load/);

    // After the cooldown (3 s here, 300 s by default) the slot tries again.
    await once(d.supervisor, 'worker-started', () => true, 10_000);
    const waited = (performance.now() - fatalAt) / 1000;
    console.log(`fatal → next try: ${waited.toFixed(2)} s (cooldown 3 s)`);
    expect(waited).toBeGreaterThanOrEqual(2.9);
    expect(d.supervisor.fatalCount()).toBe(0);
  }, 60_000);

  it('a child that ran fine and then dies is replaced at once and counted as a crash', async () => {
    const { daemon: d } = await startPool({ queues: 'q', processor: fixture('record.mjs'), 'min-workers': '1', 'max-workers': '1', 'start-seconds': '0.5' }, { waitReady: false });
    const [first] = await once<[WorkerProcess]>(d.supervisor, 'worker-ready', () => true);
    await new Promise((r) => setTimeout(r, 600)); // outlive start-seconds: this is what makes it a crash, not a failed start
    const exited = once<[WorkerExit]>(d.supervisor, 'worker-exit');
    const started = once(d.supervisor, 'worker-started');
    process.kill(first.pid!, 'SIGKILL');
    const [e] = await exited;
    await started;
    expect(e.reason).toBe('crash');
    const metrics = await (await fetch(`${d.url}/metrics`)).text();
    expect(metrics).toMatch(/worker_pool_worker_exits_total\{reason="crash",pool="default"\} 1/);
  });
});
