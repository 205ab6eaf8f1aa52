/**
 * Issue 13, item 4: a refused reload applies nothing. SIGHUP with a queue BullMQ refuses and a new
 * max-workers is refused as a whole (/status keeps the old queues and max, workers are not replaced);
 * check-config refuses the same file with exit 78. A part that fails while a reload is applied
 * (here BullMQ refusing a queue, past the schema) puts every other part back.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliPerFile, CliProcess, freePort, runCli } from '../helpers/cli.js';
import { fixture, poolPerTest } from '../helpers/pool.js';
import { redisUrl } from '../helpers/redis.js';

const startPool = poolPerTest();

describe('a refused reload', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wp-reload-refused-'));
  const cli = cliPerFile('refused');
  const { prefix } = cli;
  let daemon: CliProcess | undefined;

  it('SIGHUP with queues [q6, "x:y"] and a new max-workers changes nothing; check-config says 78', async () => {
    const port = await freePort();
    const file = path.join(dir, 'pool.yml');
    const text = (queues: string, max: number) =>
      [`redis-url: ${redisUrl()}`, `prefix: ${prefix}`, `queues: ${queues}`, `processor: ${fixture('sleep.mjs')}`, 'min-workers: 1', `max-workers: ${max}`, `metrics-port: ${port}`].join('\n');
    writeFileSync(file, text('[q6]', 2));
    daemon = cli.spawn(['--config', file, '--log-format', 'json']);
    await daemon.waitForLog('worker ready');
    const before = await daemon.status();

    writeFileSync(file, text('[q6, "x:y"]', 5));
    const check = await runCli(['check-config', file]);
    expect(check.code).toBe(78);
    expect(check.stdout).toMatch(/error .*pool\.yml: queues in .*pool\.yml: "x:y" is not allowed; a queue name cannot contain ':'/);

    daemon.kill('SIGHUP');
    const refused = await daemon.waitForLog('reload refused; keeping the current config');
    expect(String(refused['err'])).toContain('"x:y"');
    const after = await daemon.status();
    expect(after['queues']).toEqual(['q6']);
    expect(after['maxWorkers']).toBe(2);
    expect(after['lastReload']).toMatchObject({ ok: false, changed: [] });
    expect(after.workers.map((w) => w.pid)).toEqual(before.workers.map((w) => w.pid));
    expect(daemon.logs.filter((l) => l.msg === 'config reloaded')).toEqual([]);
  });

  it('Daemon.reload: when a part refuses the new config, every part keeps the old one', async () => {
    const { daemon: d } = await startPool({ queues: 'q', processor: fixture('sleep.mjs'), 'min-workers': '1', 'max-workers': '2' });
    const before = await d.status();
    const next = { ...d.config, queues: ['q', 'x:y'], maxWorkers: 7, minWorkers: 2 };
    await expect(d.reload(next)).rejects.toThrow(/Queue name cannot contain :/);
    const after = await d.status();
    expect({ queues: after.queues, max: after.maxWorkers, min: after.minWorkers }).toEqual({ queues: before.queues, max: before.maxWorkers, min: before.minWorkers });
    expect(d.supervisor.desired).toBe(1);
  });
});
