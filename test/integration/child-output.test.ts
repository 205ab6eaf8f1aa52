/**
 * A worker's output never blocks the supervisor: its stdout and stderr become log lines on the
 * daemon's stdout (issue 27.3); with that stdout going to a pipe nobody reads, a job that writes
 * 20 MB to stderr must leave /healthz answering, finish, and have what could not be passed on
 * counted (worker_pool_worker_output_dropped_bytes_total) and announced.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CliProcess, freePort } from '../helpers/cli.js';
import { deletePrefix, queue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { healthzUntil, request, untilReady } from '../helpers/http-request.js';
import { until } from '../helpers/wait.js';

const prefix = uniquePrefix('output');
let daemon: CliProcess | undefined;
afterAll(async () => {
  // A frozen daemon (the bug this guards against) never gets to act on SIGTERM.
  await daemon?.stop('SIGTERM', 15_000);
  await deletePrefix(prefix);
});

describe('worker output', () => {
  it('a 20 MB burst on a worker\'s stderr with an unread supervisor stdout: /healthz keeps answering, bytes dropped are counted', async () => {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // At warn the supervisor itself says nearly nothing: what fills its stdout is the worker's output.
    // stdout is left unread: the pipe fills after ~64 KB, as with a stuck log reader.
    const p = (daemon = new CliProcess(['--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'out', '--processor', 'test/fixtures/big-output.mjs', '--scaling-period', '0.5', '--window', '1', '--metrics-port', String(port), '--log-format', 'json', '--log-level', 'warn'], { unreadStdout: true }));
    try {
      await untilReady(url);
      const q = queue('out', prefix);
      const job = await q.add('stderr', { bytes: 20 * 1024 * 1024 });
      let dropped = 0;
      const droppedNow = async () => Number(/worker_pool_worker_output_dropped_bytes_total\{pool="default"\} (\d+)/.exec((await request(`${url}/metrics`)).body)?.[1]);
      // The child may still be writing after its job returns: wait for the output, not the job.
      const probes = await healthzUntil(
        url,
        async () => {
          dropped = await droppedNow();
          // Lines are cut to 32 KiB (the rest is counted in each event's cutBytes): of 20 MB about 10 MB of events are left to drop.
          return dropped > 5 * 1024 * 1024 && (await q.getJob(job.id!))?.finishedOn !== undefined;
        },
        'the job to finish and its output to be dropped while /healthz answers',
        40_000,
        100,
      );
      expect((await q.getJob(job.id!))!.returnvalue).toMatchObject({ written: expect.any(Number) });
      await q.close();
      console.log(`/healthz answered ${probes.length} times during the burst; slowest ${Math.max(...probes).toFixed(0)} ms; worker output dropped: ${dropped} bytes`);
      // Once stdout is read again, what was lost is said there, as a log line.
      let out = '';
      p.proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      await until(() => /"workerOutputBytes":\d+,"msg":"\d+ bytes of log output dropped/.test(out), 'the dropped-output notice on stdout', 20_000);
      // What did get through are log events (cut to the line cap), not raw bytes.
      const first = out.split('\n').find((l) => l.includes('"stream":"stderr"'));
      expect(JSON.parse(first!)).toMatchObject({ level: 40, worker: 'worker-1', stream: 'stderr', cutBytes: expect.any(Number) });
    } finally {
      p.proc.stdout!.resume();
    }
  });
});
