/**
 * Logs: JSON lines by default (stdout is not a terminal here), human-readable with
 * --log-format pretty, with the pool's name on every line either way.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { redisUrl } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

async function firstLines(extra: string[]): Promise<string> {
  const child = spawn(process.execPath, ['bin/worker-pool', '--name', 'logs', '--redis-url', redisUrl(), '--processor', 'test/fixtures/progress.mjs', '--metrics-port', '0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  try {
    await until(() => out.includes('worker ready'), 'a worker to be ready', 30_000);
  } finally {
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  }
  return out;
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
