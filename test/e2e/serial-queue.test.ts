/**
 * A serial queue (global-concurrency 1) shared by two daemons: however many workers and slots
 * both pools have, never two of its jobs run at once, and every job completes. A second queue
 * without a limit, served by the same workers, shows that they would otherwise run in parallel.
 * A limit changed in Redis behind the pools' backs is put back within a scaling period.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CliProcess, ROOT } from '../helpers/cli.js';
import { deletePrefix, queue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

interface Ran {
  start: number;
  end: number;
  pool: string;
  pid: number;
}

/** Most jobs running at the same moment, from their start and end times. */
function maxOverlap(runs: Ran[]): number {
  const edges = runs.flatMap((r) => [
    { t: r.start, d: 1 },
    { t: r.end, d: -1 },
  ]);
  // An end and a start at the same millisecond do not overlap: ends first.
  edges.sort((a, b) => a.t - b.t || a.d - b.d);
  let now = 0;
  let most = 0;
  for (const e of edges) most = Math.max(most, (now += e.d));
  return most;
}

describe('serial queue across two daemons', () => {
  const prefix = uniquePrefix('serial');
  const dir = mkdtempSync(path.join(tmpdir(), 'wp-serial-'));
  const daemons: CliProcess[] = [];

  afterAll(async () => {
    for (const d of daemons) await d.stop('SIGKILL');
    await deletePrefix(prefix);
    rmSync(dir, { recursive: true, force: true });
  });

  it('never runs two jobs of the serial queue at once, and completes them all', async () => {
    for (const name of ['serial-a', 'serial-b']) {
      const file = path.join(dir, `${name}.yml`);
      writeFileSync(
        file,
        [
          `redis-url: ${redisUrl()}`,
          `prefix: ${prefix}`,
          'queues: [serial, free]',
          'global-concurrency: { serial: 1 }',
          `processor: ${path.join(ROOT, 'test/fixtures/timed.mjs')}`,
          'concurrency: 3',
          'min-workers: 2',
          'max-workers: 2',
          'scaling-period: 1',
          'window: 2',
          'metrics-port: 0',
          'log-level: info',
        ].join('\n'),
      );
      daemons.push(new CliProcess(['--config', file]));
    }
    await Promise.all(daemons.map((d) => d.waitForLog((l) => l.msg === 'worker ready' && l['worker'] === 'worker-2')));

    const serial = queue('serial', prefix);
    const free = queue('free', prefix);
    try {
      expect(await serial.getGlobalConcurrency()).toBe(1);
      expect(await free.getGlobalConcurrency()).toBeNull();
      const SERIAL = 16;
      const FREE = 24;
      await serial.addBulk(Array.from({ length: SERIAL }, (_, i) => ({ name: 'timed', data: { ms: 80, i } })));
      await free.addBulk(Array.from({ length: FREE }, (_, i) => ({ name: 'timed', data: { ms: 150, i } })));

      const done = async (q: typeof serial, n: number) => (await q.getJobCounts('completed'))['completed'] === n;
      await until(async () => (await done(serial, SERIAL)) && (await done(free, FREE)), 'every job to complete', 45_000, 100);

      const runs = async (q: typeof serial) => (await q.getJobs(['completed'], 0, -1)).map((j) => j.returnvalue as Ran);
      const serialRuns = await runs(serial);
      const freeRuns = await runs(free);
      expect(serialRuns).toHaveLength(SERIAL);
      expect((await serial.getJobCounts('failed'))['failed']).toBe(0);
      expect((await free.getJobCounts('failed'))['failed']).toBe(0);
      // The rule under test, from the jobs' own start and end times.
      expect(maxOverlap(serialRuns)).toBe(1);
      // The same workers do run jobs in parallel when no limit stops them.
      expect(maxOverlap(freeRuns)).toBeGreaterThan(1);
      // Both pools took part (the limit held across daemons, not inside one).
      const pools = new Set([...serialRuns, ...freeRuns].map((r) => r.pool));
      expect(pools).toEqual(new Set(['serial-a', 'serial-b']));
      const serialPools = serialRuns.reduce<Record<string, number>>((m, r) => ((m[r.pool] = (m[r.pool] ?? 0) + 1), m), {});
      console.log('serial jobs by pool:', serialPools, 'span ms:', Math.max(...serialRuns.map((r) => r.end)) - Math.min(...serialRuns.map((r) => r.start)));

      // A limit changed behind the pools' backs (another pool, a restored Redis) is put back.
      await serial.setGlobalConcurrency(5);
      await until(async () => (await serial.getGlobalConcurrency()) === 1, 'the limit to be set back', 15_000, 100);
      const warned = await until(
        () => daemons.flatMap((d) => d.logs).find((l) => l.msg === 'global concurrency in Redis differed (another pool configured with a different limit?); set it back'),
        'a pool to warn that it set the limit back',
      );
      expect(warned).toMatchObject({ queue: 'serial', globalConcurrency: 1, found: 5 });
    } finally {
      await serial.close();
      await free.close();
    }

    expect(await Promise.all(daemons.map((d) => d.stop()))).toEqual([0, 0]);
  });
});
