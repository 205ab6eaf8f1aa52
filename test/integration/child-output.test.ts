/**
 * A worker's output never blocks the supervisor: with the daemon's stderr going to a pipe nobody
 * reads, a job that writes 20 MB to stderr must leave /healthz answering, finish, and have what
 * could not be passed on counted (worker_pool_worker_output_dropped_bytes_total) and announced.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { CliProcess } from '../helpers/cli.js';
import { deletePrefix, queue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { request } from '../helpers/http-request.js';
import { until } from '../helpers/wait.js';

const prefix = uniquePrefix('output');
let daemon: CliProcess | undefined;
afterAll(async () => {
  if (daemon) {
    // A frozen daemon (the bug this guards against) never gets to act on SIGTERM.
    const late = setTimeout(() => daemon?.kill('SIGKILL'), 15_000);
    await daemon.stop();
    clearTimeout(late);
  }
  await deletePrefix(prefix);
});

describe('worker output', () => {
  it('a 20 MB burst on a worker\'s stderr with an unread supervisor stderr: /healthz keeps answering, bytes dropped are counted', async () => {
    // stderr is left unread: the pipe fills after ~128 KB, as with a stuck log reader.
    const p = (daemon = new CliProcess(['--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'out', '--processor', 'test/fixtures/big-output.mjs', '--scaling-period', '0.5', '--window', '1', '--metrics-port', '0', '--log-format', 'json', '--log-level', 'info'], { unreadStderr: true }));
    try {
      const url = await p.listening();
      await p.waitForLog('worker ready');
      const q = queue('out', prefix);
      const job = await q.add('stderr', { bytes: 20 * 1024 * 1024 });
      let slowest = 0;
      let answers = 0;
      let dropped = 0;
      const droppedNow = async () => Number(/worker_pool_worker_output_dropped_bytes_total\{pool="default"\} (\d+)/.exec((await request(`${url}/metrics`)).body)?.[1]);
      // The child may still be writing after its job returns: wait for the output, not the job.
      await until(
        async () => {
          const t = performance.now();
          const r = await request(`${url}/healthz`);
          slowest = Math.max(slowest, performance.now() - t);
          expect(r.status).toBe(200);
          answers++;
          dropped = await droppedNow();
          return dropped > 15 * 1024 * 1024 && (await q.getJob(job.id!))?.finishedOn !== undefined;
        },
        'the job to finish and its output to be dropped while /healthz answers',
        40_000,
        100,
      );
      expect((await q.getJob(job.id!))!.returnvalue).toMatchObject({ written: expect.any(Number) });
      await q.close();
      console.log(`/healthz answered ${answers} times during the burst; slowest ${slowest.toFixed(0)} ms; worker output dropped: ${dropped} bytes`);
      // Once stderr is read again, what was lost is said there.
      let err = '';
      p.proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      await until(() => /\[worker-pool\] \d+ bytes of worker output dropped/.test(err), 'the dropped-output notice on stderr', 20_000);
    } finally {
      p.proc.stderr!.resume();
    }
  });
});
