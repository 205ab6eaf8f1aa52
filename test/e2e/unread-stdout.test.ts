/**
 * Issue 26, item 5: a stdout that nobody reads never freezes the pool. The supervisor and its
 * workers logged synchronously: with stdout on a pipe nobody read, the pool stopped after 370 of
 * 3,000 jobs and /healthz timed out for 50 s. Here the daemon runs as users run it, its stdout a
 * pipe this test never reads (as a stuck log shipper), and every job fails (a `job failed` line
 * each of ~4 KB, with its message and stack: the pipe's 64 KiB are full within the first twenty,
 * and 12 MB are more than the workers may hold back): all 3,000 jobs end,
 * /healthz answers throughout (its latency printed), the log lines that could not be written are
 * counted in worker_pool_log_dropped_bytes_total, and once stdout is read again a line says how
 * much was lost.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CliProcess, freePort } from '../helpers/cli.js';
import { healthzUntil, request, untilReady } from '../helpers/http-request.js';
import { deletePrefix, queue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const prefix = uniquePrefix('stdout');
let daemon: CliProcess | undefined;
afterAll(async () => {
  daemon?.proc.stdout!.resume();
  // A frozen daemon (the bug this guards against) never gets to act on SIGTERM.
  await daemon?.stop('SIGTERM', 15_000);
  await deletePrefix(prefix);
});

describe('stdout on a pipe nobody reads', () => {
  it('3,000 jobs all end and /healthz answers; lost log lines are counted and announced', { timeout: 180_000 }, async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // A short scaling period: the supervisor has lines of its own to write (scaling changes) while the pipe is full.
    const d = (daemon = new CliProcess(['--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'q', '--processor', 'test/fixtures/big-result.mjs', '--concurrency', '10', '--min-workers', '1', '--max-workers', '3', '--scaling-period', '0.5', '--window', '1', '--metrics-port', String(port), '--log-format', 'json'], { unreadStdout: true }));
    await untilReady(url);

    const q = queue('q', prefix);
    await q.addBulk(Array.from({ length: 3000 }, (_, n) => ({ name: 'fail', data: { n, failBytes: 2000 }, opts: { attempts: 1 } })));
    const probes = await healthzUntil(
      url,
      async () => (await q.getJobCounts('failed')).failed === 3000,
      'all 3,000 jobs to end (failed, as asked) while stdout is not read',
      120_000,
      200,
    );
    await q.close();
    const metrics = (await request(`${url}/metrics`)).body;
    const droppedBy = (p: string) => Number(new RegExp(`worker_pool_log_dropped_bytes_total\\{process="${p}",pool="default"\\} (\\d+)`).exec(metrics)?.[1]);
    const dropped = { supervisor: droppedBy('supervisor'), workers: droppedBy('workers') };
    const sorted = [...probes].sort((a, b) => a - b);
    console.log(`3,000 jobs with stdout unread: /healthz over ${probes.length} probes p50 ${sorted[Math.floor(sorted.length / 2)]!.toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms; log bytes dropped: ${JSON.stringify(dropped)}`);
    expect(dropped.supervisor).toBeGreaterThanOrEqual(0);
    expect(dropped.workers).toBeGreaterThan(0);

    // Read stdout again: the backlog drains, then a line says how much was lost.
    let out = '';
    d.proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    await until(() => /"msg":"\d+ bytes of log output dropped \(stdout was not read fast enough\)"/.test(out), 'the dropped-log notice on stdout', 20_000);
    const notice = out.split('\n').find((l) => l.includes('bytes of log output dropped'))!;
    // A worker's notice names the worker; each process says what it lost of its own lines.
    expect(JSON.parse(notice)).toMatchObject({ level: 40, pool: 'default', droppedBytes: expect.any(Number) });
  });
});
