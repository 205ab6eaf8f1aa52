/**
 * Redis not running at all: the daemon says so once (not a warning per attempt from every worker),
 * /readyz says why it is not ready, and a stop with no job running is prompt and not "forced"
 * (each child's drain used to wait on a fetch stuck until Redis answered, up to the stop timeout).
 */
import { describe, expect, it } from 'vitest';
import { CliProcess, freePort } from '../helpers/cli.js';
import { fixture } from '../helpers/pool.js';
import { until } from '../helpers/wait.js';

describe('Redis unreachable', () => {
  it('is said once, /readyz gives the reason, and SIGINT with no job running stops without forcing', async () => {
    const port = await freePort();
    const p = new CliProcess([
      '--redis-url', `redis://127.0.0.1:${port}`, '--processor', fixture('sleep.mjs'), '--min-workers', '2', '--max-workers', '2',
      '--metrics-port', '0', '--log-format', 'json', '--stop-timeout', '30', '--scaling-period', '1',
    ]);
    try {
      const url = await p.listening();
      // No worker starts before the daemon holds its fleet registration, which needs Redis.
      await until(() => p.logs.some((l) => l.msg === 'fleet: cannot register in Redis yet; workers start once registered'), 'the fleet registration waiting for Redis', 30_000);
      // A few seconds of retrying (ioredis backs off to 2 s between attempts).
      const t0 = Date.now();
      await until(() => Date.now() - t0 > 4000, 'four seconds of outage', 10_000);
      const warnings = p.logs.filter((l) => (l['level'] as number) >= 40);
      expect(warnings.map((l) => l.msg)).toEqual(['Redis is unreachable; workers wait and retry quietly until it answers (see /readyz)']);
      expect(warnings[0]!['err']).toMatch(/ECONNREFUSED/);
      const ready = await fetch(`${url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.text()).toMatch(new RegExp(`^not ready: Redis unreachable at redis://127\\.0\\.0\\.1:${port} \\(connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\\)`));

      p.kill('SIGINT');
      const { code } = await p.exited;
      expect(p.logs.find((l) => l.msg === 'stopped')?.['forced']).toBe(false);
      expect(p.logs.some((l) => l.msg === 'stop deadline reached; handing running jobs back')).toBe(false);
      expect(code).toBe(0);
    } finally {
      await p.stop('SIGKILL');
    }
  });
});
