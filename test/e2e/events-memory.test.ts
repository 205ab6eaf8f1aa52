/**
 * /events memory stays bounded with clients that stop reading: 100 clients connect (the default
 * --events-max-clients, 50, are let in; the rest get 503), all but one stop reading, and 60 jobs
 * return 400 KB each with --events-payloads on. Unbounded, every stalled client would hold all
 * 24 MB of events, a copy each (the code before this change: 88 MB → 3.6 GB in this very scenario,
 * all 99 let in; 8 GB and a V8 abort with 1 MB results); here frames are shared and a
 * client with more than 1 MiB waiting that took nothing for 5 s is dropped. The supervisor's peak RSS (VmHWM) is printed and must stay under a generous bound.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliPerFile, type CliProcess } from '../helpers/cli.js';
import { queue, redisUrl } from '../helpers/redis.js';
import { follow, type SseEvent } from '../helpers/sse.js';
import { request } from '../helpers/http-request.js';
import { until } from '../helpers/wait.js';

const cli = cliPerFile('evmem');
const { prefix } = cli;
const JOBS = 60;
const RESULT_BYTES = 400 * 1024;
const BOUND_MB = 450;

function peakRssMb(pid: number): number {
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

/** Open /events on a raw socket, read the status line, then never read again. */
function stalledClient(url: string): Promise<{ socket: net.Socket; status: number }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(u.port), u.hostname, () => socket.write(`GET /events HTTP/1.1\r\nHost: ${u.host}\r\n\r\n`));
    socket.once('data', (chunk: Buffer) => {
      socket.pause();
      resolve({ socket, status: Number(/^HTTP\/1\.1 (\d+)/.exec(chunk.toString('latin1'))?.[1]) });
    });
    socket.on('error', () => undefined);
    socket.once('close', () => reject(new Error('closed before answering')));
  });
}

describe('/events memory with clients that stop reading', () => {
  let daemon: CliProcess;
  beforeAll(async () => {
    daemon = await cli.start(['--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'big', '--processor', 'test/fixtures/big-output.mjs', '--concurrency', '4', '--events-payloads']);
  });

  it('caps the streams at 50 (503 past it), drops the stalled ones, keeps the reader, and the supervisor stays small', async () => {
    const pid = daemon.proc.pid!;
    const before = peakRssMb(pid);
    const reader: SseEvent[] = [];
    const closeReader = await follow(`${daemon.url}/events`, (e) => reader.push(e));
    await until(() => reader.some((e) => e.event === 'hello'), 'the reader\'s hello');
    const clients = await Promise.all(Array.from({ length: 99 }, () => stalledClient(daemon.url)));
    try {
      const statuses = clients.map((c) => c.status);
      expect(statuses.filter((s) => s === 200)).toHaveLength(49);
      expect(statuses.filter((s) => s === 503)).toHaveLength(50);

      const q = queue('big', prefix);
      await q.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'result', data: { bytes: RESULT_BYTES }, opts: { jobId: `r${i}` } })));
      await q.close();
      const completed = () => reader.filter((e) => e.event === 'job' && e.data['event'] === 'completed').length;
      await until(() => completed() === JOBS, 'the reading client to get every completed event', 40_000, 100).catch(async (err: Error) => {
        const m = (await request(`${daemon.url}/metrics`)).body.split('\n').filter((l) => /events_clients|queue_jobs\{/.test(l));
        throw new Error(`${err.message}: it got ${completed()} of ${JOBS}; ${m.join('; ')}; ${daemon.stdout.split('\n').filter((l) => l.includes('stopped reading')).slice(-3).join(' ')}`);
      });
      expect(reader.filter((e) => e.data['event'] === 'completed').every((e) => (e.data['returnvalue'] as string).length === RESULT_BYTES)).toBe(true);

      const rejected = async (reason: string) => Number(new RegExp(`worker_pool_events_clients_rejected_total\\{reason="${reason}",pool="default"\\} (\\d+)`).exec((await request(`${daemon.url}/metrics`)).body)?.[1]);
      // Dropped at their next event or keep-alive (15 s) once 5 s passed without taking anything.
      await until(async () => (await rejected('slow')) === 49, 'the 49 stalled clients dropped', 40_000, 250);
      const slow = await rejected('slow');
      const full = await rejected('full');
      const peak = peakRssMb(pid);
      console.log(`supervisor peak RSS: ${before.toFixed(0)} MB before, ${peak.toFixed(0)} MB after ${JOBS} × ${RESULT_BYTES / 1024} KB results to 49 stalled clients (bound ${BOUND_MB} MB); dropped slow ${slow}, refused ${full}`);
      expect(full).toBe(50);
      expect(slow).toBe(49);
      expect(peak).toBeLessThan(BOUND_MB);
    } finally {
      closeReader();
      for (const c of clients) c.socket.destroy();
    }
  }, 90_000);
});
