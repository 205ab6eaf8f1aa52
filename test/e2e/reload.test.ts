/**
 * Live reload (SIGHUP) of a running pool under load: new min-workers and threshold apply at once,
 * a new concurrency replaces the workers one at a time, no job is lost or failed, and /status
 * shows the new settings. A broken file is refused and the running config kept. A reload that
 * changes the queues re-points GET /events at the new ones.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPerFile, CliProcess, freePort, ROOT } from '../helpers/cli.js';
import { queue, redisUrl } from '../helpers/redis.js';
import { follow, type SseEvent } from '../helpers/sse.js';
import { until } from '../helpers/wait.js';

describe('reload on SIGHUP', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wp-reload-'));
  const cli = cliPerFile('reload');
  const { prefix } = cli;
  let daemon: CliProcess | undefined;

  it('applies min, threshold and concurrency under load without losing a job, and refuses a broken file', async () => {
    const port = await freePort();
    const file = path.join(dir, 'reloading.yml');
    const settings = (s: { min: number; threshold: number; concurrency: number | string }) =>
      [
        `redis-url: ${redisUrl()}`,
        `prefix: ${prefix}`,
        'queues: [work]',
        `processor: ${path.join(ROOT, 'test/fixtures/sleep.mjs')}`,
        `concurrency: ${s.concurrency}`,
        `min-workers: ${s.min}`,
        'max-workers: 3',
        `utilization-threshold: ${s.threshold}`,
        'scaling-period: 1',
        'window: 2',
        'sample-interval: 0.25',
        `metrics-port: ${port}`,
      ].join('\n');
    writeFileSync(file, settings({ min: 1, threshold: 0.5, concurrency: 2 }));
    daemon = cli.spawn(['--config', file]);
    await daemon.waitForLog('worker ready');

    const q = queue('work', prefix);
    try {
      const JOBS = 150;
      await q.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'job', data: { ms: 150, i } })));
      await until(async () => (await q.getJobCounts('completed'))['completed']! >= 10, 'the pool to be busy');

      // Watch the pool through the reload: it must never have fewer ready workers than min.
      let fewestRunning = Infinity;
      let watching = true;
      const watcher = (async () => {
        while (watching) {
          const s = await daemon!.status().catch(() => ({ runningWorkers: -1 }));
          fewestRunning = Math.min(fewestRunning, s.runningWorkers);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();

      writeFileSync(file, settings({ min: 2, threshold: 0.8, concurrency: 3 }));
      daemon.kill('SIGHUP');
      const reloaded = await daemon.waitForLog('config reloaded');
      expect(reloaded['changed']).toEqual(['min-workers', 'utilization-threshold', 'concurrency']);
      expect(reloaded['replaceWorkers']).toBe(true);

      const after = await daemon.status();
      expect(after['minWorkers']).toBe(2);
      expect(after['utilizationThreshold']).toBe(0.8);
      expect(after['concurrency']).toBe(3);
      expect(after['lastReload']).toMatchObject({ ok: true, needRestart: [] });

      await daemon.waitForLog('reload: every worker runs the new settings', 45_000);
      const rolled = await daemon.status();
      const active = rolled.workers.filter((w) => w.state !== 'draining');
      expect(active.length).toBeGreaterThanOrEqual(2);
      expect(active.every((w) => w.concurrency === 3)).toBe(true);
      const replaced = daemon.logs.filter((l) => l.msg === 'reload: replacing worker').length;
      expect(replaced).toBeGreaterThanOrEqual(1);

      await until(async () => (await q.getJobCounts('completed'))['completed'] === JOBS, 'every job to complete', 45_000, 100);
      watching = false;
      await watcher;
      const counts = await q.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed');
      expect(counts).toEqual({ completed: JOBS, failed: 0, waiting: 0, active: 0, delayed: 0 });
      expect(fewestRunning).toBeGreaterThanOrEqual(1);
      // Every replaced worker finished its jobs and exited cleanly.
      const exits = await until(() => {
        const all = daemon!.logs.filter((l) => l.msg === 'worker exited');
        return all.filter((l) => l['reason'] === 'reload').length >= replaced ? all : undefined;
      }, 'the replaced workers to exit');
      expect(exits.every((l) => l['code'] === 0)).toBe(true);

      // A broken file: refused, logged, and the pool runs on as it was.
      const good = readFileSync(file, 'utf8');
      writeFileSync(file, good.replace('concurrency: 3', 'concurrency: 0'));
      daemon.kill('SIGHUP');
      const refused = await daemon.waitForLog('reload refused; keeping the current config');
      expect(refused['err']).toMatch(/^concurrency in .*reloading\.yml: 0 is not allowed/);
      const kept = await daemon.status();
      expect(kept['concurrency']).toBe(3);
      expect(kept['minWorkers']).toBe(2);
      expect(kept['lastReload']).toMatchObject({ ok: false });

      // A processor that does not load is refused the same way, before any worker is replaced.
      writeFileSync(file, good.replace(/^processor: .*$/m, `processor: ${path.join(ROOT, 'test/fixtures/not-a-processor.mjs')}`));
      daemon.kill('SIGHUP');
      const unloadable = await daemon.waitForLog((l) => l.msg === 'reload refused; keeping the current config' && String(l['err']).includes('not-a-processor'));
      expect(unloadable['err']).toMatch(/default export must be a function/);
      expect((await daemon.status())['lastReload']).toMatchObject({ ok: false });
      expect(daemon.logs.filter((l) => l.msg === 'reload: replacing worker').length).toBe(replaced);
      expect(daemon.proc.exitCode).toBeNull();
    } finally {
      await q.close();
    }

    daemon.kill('SIGTERM');
    expect(await daemon.exited).toEqual({ code: 0, signal: null });
  });

  it('a reload that changes the queues says so on /events and streams the new queues\' job events', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const file = path.join(dir, 'requeue.yml');
    const settings = (queues: string) =>
      [`redis-url: ${redisUrl()}`, `prefix: ${prefix}`, `queues: [${queues}]`, `processor: ${path.join(ROOT, 'test/fixtures/sleep.mjs')}`, 'min-workers: 1', 'max-workers: 1', `metrics-port: ${port}`].join('\n');
    writeFileSync(file, settings('before'));
    const d = cli.spawn(['--config', file]);
    await d.waitForLog('worker ready');
    const events: SseEvent[] = [];
    const close = await follow(`${url}/events`, (e) => events.push(e));
    const q = queue('after', prefix);
    try {
      const hellos = () => events.filter((e) => e.event === 'hello').map((e) => e.data['queues']);
      await until(() => hellos().length === 1, 'hello');
      expect(hellos()).toEqual([['before']]);
      writeFileSync(file, settings('after'));
      d.kill('SIGHUP');
      await until(() => hellos().length === 2, 'a second hello after the reload', 20_000);
      expect(hellos()[1]).toEqual(['after']);
      const job = await q.add('job', { ms: 20 });
      await until(() => events.some((e) => e.event === 'job' && e.data['queue'] === 'after' && e.data['jobId'] === job.id && e.data['event'] === 'completed'), 'the new queue\'s job on the stream', 20_000);
    } finally {
      close();
      await q.close();
      await d.stop();
    }
  });
});
