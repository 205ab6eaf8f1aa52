/**
 * Issue 13, item 6: durations past a Node timer's 2^31−1 ms. A job's own data.timeoutSeconds of
 * 30 days no longer times it out at once (the limit is clamped), and a duration option over the
 * bound is refused at start (exit 78, one line with the key, the value and the maximum), and a
 * subcommand's duration flag over it is a usage error (64).
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();

describe('long durations', () => {
  it('a job with data.timeoutSeconds 2592000 (30 days) runs to completion', async () => {
    const { queue: q } = await startPool({ queues: 'q', processor: fixture('sleep.mjs'), 'min-workers': '1', 'max-workers': '1' });
    await q.add('slow', { ms: 700, timeoutSeconds: 2_592_000 }, { jobId: 'month' });
    await until(async () => ['completed', 'failed'].includes(await q.getJobState('month')), 'the job ended');
    const job = (await q.getJob('month'))!;
    expect(job.failedReason).toBeUndefined();
    expect(await job.getState()).toBe('completed');
  });

  it('--stop-timeout 3000000 is refused at start with the maximum named', async () => {
    // Not refused, it would run: stopped after 15 s.
    const p = await runCli(['start', '--processor', fixture('sleep.mjs'), '--stop-timeout', '3000000', '--metrics-port', '0'], { timeoutMs: 15_000 });
    expect(p.code).toBe(78);
    expect(p.stderr.trim()).toBe('worker-pool: --stop-timeout: "3000000" is not allowed; expected a number of seconds > 0 and ≤ 2147483 (fractions allowed)');
  });

  it("a subcommand's duration flag over the bound is a usage error (status --watch --interval 3000000)", async () => {
    // Unbounded, it redraws every millisecond until stopped after 10 s.
    const p = await runCli(['status', '--watch', '--interval', '3000000', '--url', 'http://127.0.0.1:9'], { timeoutMs: 10_000 });
    expect(p.code).toBe(64);
    expect(p.stderr.trim()).toBe('worker-pool: --interval: "3000000" is not allowed; expected a number ≥ 0.2 and ≤ 2147483');
  });
});
