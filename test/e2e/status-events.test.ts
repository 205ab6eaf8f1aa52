/**
 * `worker-pool status` (once and --watch) and GET /events against the real CLI: exit codes 0 ready,
 * 1 not ready, 3 nothing answers; --watch redraws until Ctrl-C; a client of /events follows one
 * job through its progress to its end, and sees scaling decisions and worker lifecycle.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cliPerFile, CliProcess, freePort, runCli } from '../helpers/cli.js';
import { client, queue, redisUrl } from '../helpers/redis.js';
import { follow, type SseEvent } from '../helpers/sse.js';
import { untilReady } from '../helpers/http-request.js';
import { until } from '../helpers/wait.js';

async function status(...args: string[]) {
  const r = await runCli(['status', ...args], { timeoutMs: 20_000 });
  return { code: r.code, out: r.stdout + r.stderr };
}

describe('status and events', () => {
  const cli = cliPerFile('status');
  const { prefix } = cli;
  let daemon: CliProcess;

  beforeAll(async () => {
    daemon = await cli.start(['--name', 'st', '--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'reports', '--processor', 'test/fixtures/progress.mjs', '--min-workers', '1', '--max-workers', '2', '--scaling-period', '0.5', '--window', '2', '--events-payloads']);
    await untilReady(daemon.url);
  });

  it('status: exit 0 and the pool, worker and queue tables when ready', async () => {
    const r = await status('--url', daemon.url);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('● worker-pool st — ready');
    expect(r.out).toMatch(/^worker-1\s+\d+\s+running\s+0\/1/m);
    expect(r.out).toMatch(/^QUEUE\s+WAITING\s+ACTIVE\s+DELAYED\s+PRIORITIZED\s+FAILED\s+COMPLETED\s+OLDEST$/m);
    expect(r.out).toMatch(/^reports\s+0\s+0\s+0\s+0\s+0\s+0\s+0\.0s$/m);
  });

  it('status: exit 3 when nothing answers', async () => {
    const r = await status('--url', `http://127.0.0.1:${await freePort()}`);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/^worker-pool status: nothing answers at http:\/\/127\.0\.0\.1:\d+ /);
  });

  it('status: exit 1 while the daemon runs but is not ready (Redis unreachable)', async () => {
    const deadRedis = `redis://127.0.0.1:${await freePort()}`;
    const unready = await cli.start(['--name', 'nr', '--redis-url', deadRedis, '--processor', 'test/fixtures/progress.mjs']);
    try {
      const r = await status('--url', unready.url);
      expect(r.out).toContain('NOT READY');
      expect(r.out).toContain('(DOWN)');
      expect(r.code).toBe(1);
    } finally {
      await unready.stop();
    }
  });

  it('status --watch redraws every --interval seconds until Ctrl-C, then exits with the last state', async () => {
    const watch = cli.spawn(['status', '--url', daemon.url, '--watch', '--interval', '0.3']);
    await until(() => (watch.stdout.match(/every 0\.3 s, Ctrl-C to quit/g) ?? []).length >= 3, 'three redraws', 20_000);
    expect(watch.stdout.match(/● worker-pool st — ready/g)!.length).toBeGreaterThanOrEqual(3);
    expect(await watch.stop('SIGINT')).toBe(0);
  });

  it('status --interval rejects a bad value with a usage error', async () => {
    const r = await status('--url', daemon.url, '--watch', '--interval', 'soon');
    expect(r.code).toBe(64);
    expect(r.out).toContain('--interval: "soon" is not allowed');
  });

  it('GET /events follows one job through its progress to its end, with decisions and worker events', async () => {
    const events: SseEvent[] = [];
    const close = await follow(`${daemon.url}/events`, (e) => events.push(e));
    try {
      await until(() => events.find((e) => e.event === 'hello'), 'hello event');
      expect(events.find((e) => e.event === 'hello')!.data).toMatchObject({ pool: 'st', queues: ['reports'], jobEvents: true });
      const reports = queue('reports', prefix);
      const job = await reports.add('monthly', { ms: 400 });
      const failing = await reports.add('broken', { ms: 40, fail: true }, { attempts: 1 });
      await reports.close();
      const of = (id: string | undefined) => events.filter((e) => e.event === 'job' && e.data['jobId'] === id).map((e) => e.data);
      await until(() => of(job.id).some((d) => d['event'] === 'completed'), 'the job to complete', 20_000);
      expect(of(job.id).map((d) => (d['event'] === 'progress' ? `progress ${String(d['progress'])}` : d['event']))).toEqual(['active', 'progress 25', 'progress 50', 'progress 75', 'progress 100', 'completed']);
      expect(of(job.id).at(-1)).toMatchObject({ queue: 'reports', returnvalue: { ms: 400 } });
      await until(() => of(failing.id).some((d) => d['event'] === 'failed'), 'the failing job to fail', 20_000);
      expect(of(failing.id).at(-1)).toMatchObject({ event: 'failed', failedReason: 'failed as requested' });
      await until(() => events.some((e) => e.event === 'decision'), 'a scaling decision');
      expect(events.find((e) => e.event === 'decision')!.data).toHaveProperty('reason');
      // Ask for a new worker by making the pool busy: its lifecycle shows on the stream.
      const more = queue('reports', prefix);
      await more.addBulk(Array.from({ length: 12 }, () => ({ name: 'slow', data: { ms: 400 } })));
      await more.close();
      await until(() => events.some((e) => e.event === 'worker' && e.data['event'] === 'ready' && e.data['worker'] === 'worker-2'), 'worker-2 ready on the stream', 30_000);
      expect(events.some((e) => e.event === 'worker' && e.data['event'] === 'started' && e.data['worker'] === 'worker-2')).toBe(true);
      const redis = client();
      expect(String(await redis.client('LIST'))).toContain('worker-pool:st:events');
      redis.disconnect();
    } finally {
      close();
    }
    // Job events are read only while someone listens: the last client gone, their connections close.
    const redis = client();
    try {
      await until(async () => !String(await redis.client('LIST')).includes('worker-pool:st:events'), 'the job-event connections to close', 10_000, 100);
    } finally {
      redis.disconnect();
    }
  });
});
