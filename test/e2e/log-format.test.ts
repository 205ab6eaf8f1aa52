/**
 * Logs: JSON lines by default (stdout is not a terminal here), human-readable with
 * --log-format pretty, with the pool's name on every line either way.
 */
import { describe, expect, it } from 'vitest';
import { CliProcess, startCli } from '../helpers/cli.js';
import { deletePrefix, queue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

async function firstLines(extra: string[]): Promise<string> {
  const p = new CliProcess(['--name', 'logs', '--redis-url', redisUrl(), '--processor', 'test/fixtures/progress.mjs', '--metrics-port', '0', ...extra]);
  try {
    await until(() => p.stdout.includes('worker ready'), 'a worker to be ready', 30_000);
  } finally {
    await p.stop();
  }
  return p.stdout;
}

describe('log format', () => {
  it('is one JSON object per line by default when stdout is not a terminal', async () => {
    const out = await firstLines([]);
    const starting = out.split('\n').find((l) => l.includes('worker-pool starting'))!;
    expect(JSON.parse(starting)).toMatchObject({ level: 30, pool: 'logs', msg: 'worker-pool starting' });
  });

  it('is human-readable with --log-format pretty', async () => {
    const out = (await firstLines(['--log-format', 'pretty'])).replace(/\x1b\[[0-9;]*m/g, '');
    const lines = out.split('\n');
    const at = lines.findIndex((l) => l.includes('worker-pool starting'));
    expect(lines[at]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: worker-pool starting$/);
    expect(lines[at + 1]).toBe('    pool: "logs"');
  });
});

describe("a processor's own output (issue 27.3)", () => {
  it('becomes log events with pool, worker, pid and stream: every stdout line stays JSON', async () => {
    const prefix = uniquePrefix('chatty');
    const p = await startCli(['--name', 'chatty', '--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'talk', '--processor', 'test/fixtures/chatty.mjs']);
    const q = queue('talk', prefix);
    try {
      await p.waitForLog('worker ready');
      const job = await q.add('say', {});
      await until(() => p.stdout.includes(`a warning from job ${job.id}`) && p.stdout.includes(`hello from job ${job.id}`), 'both lines of the job', 20_000);
    } finally {
      await p.stop();
      await q.close();
      await deletePrefix(prefix);
    }
    const lines = p.stdout.split('\n').filter(Boolean);
    const events = lines.map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        throw new Error(`not a JSON line on stdout: ${l}`);
      }
    });
    const hello = events.find((e) => typeof e['msg'] === 'string' && e['msg'].startsWith('hello from job'));
    const warning = events.find((e) => typeof e['msg'] === 'string' && e['msg'].startsWith('a warning from job'));
    expect(hello).toMatchObject({ level: 30, pool: 'chatty', worker: 'worker-1', pid: expect.any(Number), stream: 'stdout' });
    expect(warning).toMatchObject({ level: 40, pool: 'chatty', worker: 'worker-1', pid: hello!['pid'], stream: 'stderr' });
    expect(p.stderr).not.toContain('a warning from job');
  });
});
