/** `routes` for processors that declare no job types (plain queues): the queues, their listeners and what they hold; --check fails on a queue with jobs and no listener. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/pool.js';
import { deletePrefix, queue, redisUrl, uniquePrefix } from '../helpers/redis.js';

describe('routes with plain queues', () => {
  it('lists the instances\' queues and warns about a queue that holds jobs nobody takes', async () => {
    const prefix = uniquePrefix('plain');
    const dir = mkdtempSync(path.join(tmpdir(), 'wp-plain-'));
    const file = (name: string, queues: string) => writeFileSync(path.join(dir, name), [`queues: [${queues}]`, `processor: ${fixture('sleep.mjs')}`, `redis-url: ${redisUrl()}`, `prefix: ${prefix}`].join('\n'));
    file('mail.yml', 'mail');
    file('reports.yml', 'reports, mail');
    const q = queue('stray', prefix);
    try {
      const clean = await runCli(['routes', '--config-dir', dir, '--check']);
      expect(clean.stderr).toBe('');
      expect(clean.code).toBe(0);
      expect(clean.stdout).toContain('no job types declared (plain queues)');
      expect(clean.stdout).toMatch(/^mail\s+mail,reports\s+empty$/m);
      expect(clean.stdout).toMatch(/^reports\s+reports\s+empty$/m);
      expect(clean.stdout).toContain('ok: every queue that holds jobs has a listener');

      await q.add('x', {});
      const stray = await runCli(['routes', '--config-dir', dir, '--check']);
      expect(stray.code).toBe(1);
      expect(stray.stdout).toMatch(/^stray\s+-\s+1 waiting$/m);
      expect(stray.stdout).toContain('warning: queue "stray" holds 1 waiting but no instance listens to it: its jobs would pile up');
    } finally {
      await q.close();
      await deletePrefix(prefix);
    }
  });
});
