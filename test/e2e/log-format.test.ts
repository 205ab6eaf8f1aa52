/**
 * Logs: JSON lines by default (stdout is not a terminal here), human-readable with
 * --log-format pretty, with the pool's name on every line either way.
 */
import { describe, expect, it } from 'vitest';
import { CliProcess } from '../helpers/cli.js';
import { redisUrl } from '../helpers/redis.js';
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
