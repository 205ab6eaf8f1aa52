/**
 * `worker-pool enqueue` says when nothing listens to the queue it adds to (a typo in --queue used
 * to pass silently), and its progress shows rates as they are (0.5/s, not 1/s) with the time left.
 */
import { describe, expect, it } from 'vitest';
import { formatRate, progressLine } from '../../src/cli/progress.js';
import { runCli } from '../helpers/cli.js';
import { fixture, startPool } from '../helpers/pool.js';
import { client, redisUrl } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

describe('enqueue', () => {
  it('warns (and still adds) when no worker listens to the queue, naming the close one; is quiet when one does', async () => {
    const pool = await startPool({ queues: 'reports', processor: fixture('sleep.mjs'), 'min-workers': 1, 'max-workers': 1 });
    const redis = client();
    try {
      await until(async () => (await redis.exists(`${pool.prefix}:reports:stalled-check`)) === 1, 'the worker ran its first stalled-job check', 10_000);
      const listened = await runCli(['enqueue', '--redis-url', redisUrl(), '--prefix', pool.prefix, '--queue', 'reports', '--data', '{"ms":1}']);
      expect(listened.code).toBe(0);
      expect(listened.stderr).toBe('');
      const typo = await runCli(['enqueue', '--redis-url', redisUrl(), '--prefix', pool.prefix, '--queue', 'reprots', '--count', '2']);
      expect(typo.code).toBe(0);
      expect(typo.stderr.trim()).toBe(`worker-pool: warning: no worker listens to queue "reprots" on this Redis (prefix ${pool.prefix}); the jobs wait until one does (did you mean --queue reports?)`);
      expect(typo.stdout).toContain('enqueued 2 jobs named "job" to queue "reprots"');
    } finally {
      redis.disconnect();
      await pool.close();
    }
  });

  it('progress keeps fractional rates and shows the time left', () => {
    expect(formatRate(0.5)).toBe('0.5/s');
    expect(formatRate(0.25)).toBe('0.25/s');
    expect(formatRate(2.5)).toBe('2.5/s');
    expect(formatRate(1234.4)).toBe('1234/s');
    // 10 of 100 in 20 s at 0.5/s: 90 left, 3 minutes.
    expect(progressLine('enqueue q', 10, 100, 20)).toBe('enqueue q [##......................] 10/100 10% 0.5/s ETA 3m00s');
    // Before a few jobs are in, the asked-for rate gives the estimate.
    expect(progressLine('enqueue q', 1, 11, 0.01, 2)).toMatch(/ 2\/s ETA 5s$/);
    expect(progressLine('enqueue q', 5, 5, 1)).toMatch(/5\/5 100% 5\/s$/);
  });
});
