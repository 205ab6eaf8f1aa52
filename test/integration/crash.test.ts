/** A worker that dies is replaced; one that cannot start is retried with back-off, not in a spin. */
import { describe, expect, it } from 'vitest';
import type { WorkerExit } from '../../src/supervisor/supervisor.js';
import { queue } from '../helpers/redis.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { once, until } from '../helpers/wait.js';

const startPool = poolPerTest();

describe('worker deaths', () => {
  it('replaces a worker killed by its job, keeping min workers', async () => {
    // max-stalled-count 0: the supervisor fails the job at its first death instead of handing it
    // back (where it would kill the other worker too; hand-back.test.ts covers that path).
    const pool = await startPool({ processor: fixture('crash.mjs'), 'min-workers': 2, 'max-workers': 2, 'scaling-period': 60, window: 60, 'max-stalled-count': 0 });
    const { supervisor } = pool.daemon;
    const before = supervisor.workers().map((w) => w.pid);
    // Let the workers live past the start window, so the death counts as a crash, not a failed start.
    await until(() => supervisor.workers().every((w) => performance.now() - w.forkedAt > 1100), 'workers older than start-seconds', 5000, 100);
    const q = queue('default', pool.prefix);
    const exit = once<[WorkerExit]>(supervisor, 'worker-exit');
    await q.add('die', {});
    const [{ reason, code }] = await exit;
    expect(reason).toBe('crash');
    expect(code).toBe(3);
    await until(() => supervisor.runningCount() === 2, 'two workers running again', 10_000);
    const after = supervisor.workers().map((w) => w.pid);
    expect(after.filter((pid) => !before.includes(pid))).toHaveLength(1);
    await q.close();
  });

  it('backs off a processor that keeps failing to load instead of spinning', async () => {
    const pool = await startPool({ processor: fixture('sleep.mjs'), 'min-workers': 1, 'max-workers': 1, 'scaling-period': 60, window: 60 });
    const { supervisor } = pool.daemon;
    // Point new children at a module that throws on import, then kill the running worker.
    (supervisor.settings as { processor: string }).processor = fixture('exit-on-load.mjs');
    const exits: number[] = [];
    supervisor.on('worker-exit', (e) => {
      if (e.reason === 'failed_start') exits.push(performance.now());
    });
    supervisor.workers()[0]!.kill('SIGKILL');
    await until(() => exits.length >= 3, 'three failed starts', 15_000);
    // 1 s, then 2 s between attempts (plus fork time), never a tight loop.
    expect(exits[1]! - exits[0]!).toBeGreaterThanOrEqual(1000);
    expect(exits[2]! - exits[1]!).toBeGreaterThanOrEqual(2000);
    expect(supervisor.slotList()[0]!.lastError).toMatch(/this processor refuses to load/);
  });
});
