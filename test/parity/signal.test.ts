/**
 * The processor's AbortSignal under worker-pool: it aborts on `worker-pool cancel` (CLI and
 * producer API, across pools), at the job's time limit, and when a forced shutdown hands the job
 * back; Worker options the pool owns are refused at start-up.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Queue } from 'bullmq';
import { createProducer } from '../../src/producer.js';
import { runCli } from '../helpers/cli.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { redisUrl } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();
const started = (q: Queue, id: string) => until(async () => ((await q.getJob(id))?.progress === 'started' ? true : undefined), `job ${id} to start`);
const logsOf = async (q: Queue, id: string) => (await q.getJobLogs(id)).logs;

describe('the processor signal under worker-pool', () => {
  it('worker-pool cancel aborts the job in whichever of two pools runs it; the CLI says when a job is not running', async () => {
    const flags = { queues: 'signals', processor: fixture('parity/signal.mjs'), 'min-workers': 1, 'max-workers': 1 };
    const { prefix, queue: q } = await startPool(flags);
    await startPool({ ...flags, prefix });
    await q.add('wait', {}, { jobId: 'one' });
    await q.add('wait', {}, { jobId: 'two' });
    await started(q, 'one');
    await started(q, 'two');
    const cli = await runCli(['cancel', '--queue', 'signals', '--prefix', prefix, '--redis-url', redisUrl(), '--reason', 'from the CLI', 'one']);
    expect(cli.code, cli.stdout + cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/cancel sent to 2 worker/);
    const producer = createProducer({ connection: { url: redisUrl() } as never, prefix, catalog: [{ name: 'wait', queue: 'signals' } as never], rules: [['*', 'signals']] });
    try {
      expect(await producer.cancel('signals', 'two', 'from the producer')).toEqual({ state: 'active', listeners: 2 });
    } finally {
      await producer.close();
    }
    await until(async () => (await q.getJobState('one')) === 'failed' && (await q.getJobState('two')) === 'failed', 'both jobs to stop');
    expect((await q.getJob('one'))!.failedReason).toBe('stopped: from the CLI');
    expect((await q.getJob('two'))!.failedReason).toBe('stopped: from the producer');
    const again = await runCli(['cancel', '--queue', 'signals', '--prefix', prefix, '--redis-url', redisUrl(), 'one']);
    expect(again.code).toBe(1);
    expect(again.stdout).toMatch(/job one of queue signals is failed, not running/);
    const none = await runCli(['cancel', '--queue', 'signals', '--prefix', prefix, '--redis-url', redisUrl(), 'nope']);
    expect(none.code).toBe(1);
    expect(none.stdout).toMatch(/no such job/);
  });

  it('aborts at the job\'s time limit, and when a forced shutdown hands the job back', async () => {
    const pool = await startPool({ queues: 'signals', processor: fixture('parity/signal.mjs'), concurrency: 2, 'min-workers': 1, 'max-workers': 1, 'stop-timeout': 4 });
    const q = pool.queue;
    await q.add('ignore', { timeoutSeconds: 0.5 }, { jobId: 'slow' });
    await until(async () => (await q.getJobState('slow')) === 'failed', 'the timed-out job to fail');
    expect((await q.getJob('slow'))!.failedReason).toMatch(/job timed out after 0.5 s/);
    await until(async () => (await logsOf(q, 'slow')).some((l) => l.startsWith('aborted: job timed out after 0.5 s')), 'the signal to abort at the time limit');

    await q.add('ignore', {}, { jobId: 'held' });
    await started(q, 'held');
    const r = await pool.stop();
    expect(r.forced).toBe(true);
    expect(await q.getJobState('held')).toBe('waiting');
    expect(await logsOf(q, 'held')).toContain('aborted: worker stopping: job handed back to its queue');
  });

  it('refuses a Worker option the pool owns, at start and in check-config, naming the flag (exit 78); check-config names the ones it takes', async () => {
    const start = await runCli(['--processor', fixture('parity/owned-option.mjs'), '--redis-url', redisUrl(), '--metrics-port', '0']);
    expect(start.code).toBe(78);
    expect(start.stderr.trim().split('\n')).toHaveLength(1);
    expect(start.stderr).toMatch(/workerOptions\.concurrency is set by the pool, not the processor: use --concurrency/);
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'wp-parity-')), 'pool.yml');
    writeFileSync(file, `processor: ${fixture('parity/owned-option.mjs')}\n`);
    const check = await runCli(['check-config', file]);
    expect(check.code).toBe(78);
    expect(check.stdout).toMatch(/error .*pool\.yml: .*workerOptions\.concurrency is set by the pool, not the processor: use --concurrency/);
    // A module's own options are named when it is accepted.
    writeFileSync(file, `processor: ${fixture('parity/custom-backoff.mjs')}\n`);
    const ok = await runCli(['check-config', file]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/ok .*pool\.yml: .*, worker options settings,removeOnFail$/m);
  });
});
