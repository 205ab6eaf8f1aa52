/**
 * Issue 26, item 6: a `workerOptions` value the child's BullMQ Worker would choke on is refused by
 * check-config and by start, in one line naming the option, the value and what is allowed. Before,
 * `telemetry: 'yes'` passed check-config, the pool started, and every job stayed active for good.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CliProcess, runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/pool.js';
import { redisUrl } from '../helpers/redis.js';

const REFUSAL = /workerOptions\.telemetry must be an object, got "yes"; give a Telemetry object such as new BullMQOtel/;

describe('a bad workerOptions value', () => {
  it('is refused by check-config with one line naming the option, value and what is allowed (exit 78)', async () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'wp-options-')), 'pool.yml');
    writeFileSync(file, `processor: ${fixture('bad-telemetry.mjs')}\n`);
    const check = await runCli(['check-config', file]);
    expect(check.code, check.stdout + check.stderr).toBe(78);
    expect(check.stdout).toMatch(REFUSAL);
  });

  it('is refused by start before anything runs (exit 78, one line on stderr)', async () => {
    const p = new CliProcess(['--processor', fixture('bad-telemetry.mjs'), '--redis-url', redisUrl(), '--prefix', `wp-options-${process.pid}`, '--metrics-port', '0']);
    // Either it says it is starting (accepted) or it exits first (refused: waitForLog rejects).
    const started = await p.waitForLog('worker-pool starting').then(() => true, () => false);
    if (started) await p.stop('SIGKILL');
    expect({ started, exited: (await p.exited).code }).toEqual({ started: false, exited: 78 });
    expect(p.stderr.trim().split('\n')).toHaveLength(1);
    expect(p.stderr).toMatch(REFUSAL);
  });
});
