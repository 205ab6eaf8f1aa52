/**
 * A worker's output never blocks the supervisor: with the daemon's stderr going to a pipe nobody
 * reads, a job that writes 20 MB to stderr must leave /healthz answering, finish, and have what
 * could not be passed on counted (worker_pool_worker_output_dropped_bytes_total) and announced.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { deletePrefix, queue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { request } from '../helpers/http-request.js';
import { until } from '../helpers/wait.js';

const prefix = uniquePrefix('output');
let proc: ChildProcess | undefined;
afterAll(async () => {
  if (proc && proc.exitCode === null && proc.signalCode === null) {
    const exited = once(proc, 'exit');
    proc.kill('SIGTERM');
    // A frozen daemon (the bug this guards against) never gets to act on SIGTERM.
    const late = setTimeout(() => proc?.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(late);
  }
  await deletePrefix(prefix);
});

describe('worker output', () => {
  it('a 20 MB burst on a worker\'s stderr with an unread supervisor stderr: /healthz keeps answering, bytes dropped are counted', async () => {
    proc = spawn(process.execPath, ['bin/worker-pool', '--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'out', '--processor', 'test/fixtures/big-output.mjs', '--scaling-period', '0.5', '--window', '1', '--metrics-port', '0', '--log-format', 'json', '--log-level', 'info'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // stderr is left unread: the pipe fills after ~128 KB, as with a stuck log reader.
    try {
      let out = '';
      proc.stdout!.on('data', (c: Buffer) => (out += c.toString()));
      const url = await until(() => /"http":"([^"]+)".*"msg":"worker-pool starting"/.exec(out)?.[1], 'the daemon listening', 30_000);
      await until(() => out.includes('"msg":"worker ready"'), 'a worker ready', 30_000);
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
      proc.stderr!.on('data', (c: Buffer) => (err += c.toString()));
      await until(() => /\[worker-pool\] \d+ bytes of worker output dropped/.test(err), 'the dropped-output notice on stderr', 20_000);
    } finally {
      proc.stderr!.resume();
    }
  });
});
