/** The real command: signals, orphans, bad configuration. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CliProcess, runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/pool.js';
import { deletePrefix, queue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { isAlive, until } from '../helpers/wait.js';

const running: CliProcess[] = [];
afterEach(() => {
  for (const p of running.splice(0)) if (p.proc.exitCode === null) p.kill('SIGKILL');
});

function start(args: string[]): CliProcess {
  const p = new CliProcess(['--redis-url', redisUrl(), '--metrics-port', '0', '--log-format', 'json', ...args]);
  running.push(p);
  return p;
}

describe('worker-pool (the command)', () => {
  it('on SIGTERM lets running jobs finish, then exits 0 with every job completed', async () => {
    const prefix = uniquePrefix('sigterm');
    const p = start(['--processor', fixture('sleep.mjs'), '--prefix', prefix, '--min-workers', '2', '--max-workers', '2', '--concurrency', '2']);
    await until(async () => (await p.status()).runningWorkers === 2, 'two workers running', 20_000);
    const q = queue('default', prefix);
    await q.addBulk(Array.from({ length: 6 }, () => ({ name: 'j', data: { ms: 1200 } })));
    await until(async () => (await q.getJobCounts('active')).active === 4, 'four jobs active', 10_000);
    p.kill('SIGTERM');
    const { code } = await p.exited;
    expect(code).toBe(0);
    // The four running jobs finished; the two waiting ones were not started and wait for the next pool.
    expect(await q.getJobCounts('completed', 'active', 'failed', 'waiting')).toEqual({ completed: 4, active: 0, failed: 0, waiting: 2 });
    expect(p.logs.some((l) => l.msg === 'stopped' && l['forced'] === false)).toBe(true);
    // Nothing lost: the next pool on the same queue runs the rest.
    const again = start(['--processor', fixture('sleep.mjs'), '--prefix', prefix, '--min-workers', '2', '--max-workers', '2', '--concurrency', '2']);
    await until(async () => (await q.getJobCounts('completed')).completed === 6, 'all six jobs completed', 20_000);
    again.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
    await q.close();
    await deletePrefix(prefix);
  });

  it('drains on two SIGTERMs of one `timeout` expiry; forces on a deliberate second one after the window (issue 27.5)', async () => {
    const prefix = uniquePrefix('twosigterms');
    const q = queue('default', prefix);
    for (const gapMs of [0, 1500]) {
      const p = start(['--processor', fixture('sleep.mjs'), '--prefix', prefix, '--min-workers', '1', '--max-workers', '1']);
      await until(async () => (await p.status()).runningWorkers === 1, 'a worker running', 20_000);
      const job = await q.add('long', { ms: 2500 });
      await until(async () => (await q.getJobCounts('active')).active === 1, 'the job active', 10_000);
      p.kill('SIGTERM');
      // The second signal arrives once the first was handled (as the process group's copy of one
      // `timeout` expiry can), or 1.5 s later (an operator who means it).
      await p.waitForLog((l) => l.msg === 'signal received');
      if (gapMs > 0) await new Promise((r) => setTimeout(r, gapMs));
      p.kill('SIGTERM');
      const { code } = await p.exited;
      if (gapMs === 0) {
        expect(code, 'a repeated signal within the window drains').toBe(0);
        expect(await job.getState()).toBe('completed');
        expect(p.logs.some((l) => /signal repeated within the window/.test(l.msg))).toBe(true);
      } else {
        expect(code, 'a second signal after the window forces').toBe(1);
        expect(await job.getState()).toBe('waiting');
      }
      await q.drain(true);
    }
    await q.close();
    await deletePrefix(prefix);
  });

  it('hands jobs back and exits non-zero when the stop timeout passes', async () => {
    const prefix = uniquePrefix('stoptimeout');
    const p = start(['--processor', fixture('sleep.mjs'), '--prefix', prefix, '--min-workers', '1', '--stop-timeout', '0.5']);
    await until(async () => (await p.status()).runningWorkers === 1, 'a worker running', 20_000);
    const q = queue('default', prefix);
    const job = await q.add('long', { ms: 30_000 });
    await until(async () => (await q.getJobCounts('active')).active === 1, 'the job active', 10_000);
    p.kill('SIGTERM');
    const { code } = await p.exited;
    expect(code).toBe(1);
    // Handed back to waiting at once, not failed, not left active for the stalled check.
    expect(await q.getJobCounts('waiting', 'active', 'failed')).toEqual({ waiting: 1, active: 0, failed: 0 });
    expect((await q.getJob(job.id!))?.failedReason).toBeUndefined();
    await q.close();
    await deletePrefix(prefix);
  });

  it('leaves no child behind when the supervisor is killed with SIGKILL', async () => {
    const prefix = uniquePrefix('orphans');
    const p = start(['--processor', fixture('sleep.mjs'), '--prefix', prefix, '--min-workers', '3', '--max-workers', '3']);
    await until(async () => (await p.status()).runningWorkers === 3, 'three workers running', 20_000);
    const pids = (await p.status()).workers.map((w) => w.pid!);
    expect(pids).toHaveLength(3);
    expect(pids.every(isAlive)).toBe(true);
    p.kill('SIGKILL');
    await p.exited;
    const killedAt = Date.now();
    await until(() => pids.every((pid) => !isAlive(pid)), 'every child to exit', 5000);
    expect(Date.now() - killedAt).toBeLessThan(5000);
    await deletePrefix(prefix);
  });

  it('refuses an invalid config file with exit 78 and the key named', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wp-e2e-'));
    const file = path.join(dir, 'pool.yml');
    writeFileSync(file, `processor: ${fixture('sleep.mjs')}\nmin-workers: many\n`);
    const r = await runCli(['--config', file]);
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/min-workers in .*pool\.yml: "many" is not allowed; expected a whole number/);
    const check = await runCli(['check-config', file]);
    expect(check.code).toBe(78);
    expect(check.stdout).toMatch(/error .*pool\.yml: min-workers/);
  });

  it('refuses a processor that does not load, and an unknown flag as a usage error', async () => {
    const r = await runCli(['--processor', fixture('exit-on-load.mjs')]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/exit-on-load\.mjs failed to load: Error: this processor refuses to load/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    const shape = await runCli(['--processor', fixture('not-a-processor.mjs')]);
    expect(shape.code).toBe(78);
    expect(shape.stderr).toMatch(/default export must be a function/);
    const usage = await runCli(['--min-wrokers', '2']);
    expect(usage.code).toBe(64);
    expect(usage.stderr).toMatch(/unknown option '--min-wrokers'/);
  });

  it('check-config accepts a good file and names its handlers', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wp-e2e-'));
    const file = path.join(dir, 'worker.yml');
    writeFileSync(file, `processor: ${fixture('handlers.mjs')}\nqueues: [default, remote_execution]\nconcurrency: 5\n`);
    const r = await runCli(['check-config', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/ok\s+.*worker\.yml: pool "worker", queues default,remote_execution, concurrency 5, workers 1–4, handlers add,boom/);
  });

  it('enqueue rejects data that is not JSON with exit 65', async () => {
    const r = await runCli(['enqueue', '--data', '{nope', '--redis-url', redisUrl()]);
    expect(r.code).toBe(65);
    expect(r.stderr).toMatch(/--data: "\{nope" is not valid JSON/);
  });
});
