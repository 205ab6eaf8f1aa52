/**
 * Issue 13, item 5: the Redis password never leaks, however it is given. A generated password
 * with '/', '@' and ':' written as is in the URL works; it shows in no log line, /status,
 * lastReload.error, check-config, enqueue or flag error, nor in the supervisor's command line
 * (overwritten once parsed) or a child's environment; `?password=` is redacted as well.
 */
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { CliProcess, runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/pool.js';
import { startRedisWithUser, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const SECRET = 'Zx9/k@Lq:7mW+r/Ep';
const ENCODED = encodeURIComponent(SECRET);
let redis: EmbeddedRedis;
let dir: string;

const leaks = (text: string) => text.includes(SECRET) || text.includes(ENCODED) || text.includes('Zx9/k');

beforeAll(async () => {
  redis = await startRedisWithUser('pool', SECRET);
  dir = mkdtempSync(path.join(os.tmpdir(), 'wp-secret-cli-'));
});
afterAll(async () => {
  await redis.stop();
});

describe('the Redis password in a URL', () => {
  it('works written as is (with / @ :), and shows in no log, /status, reload error, argv or child environment', async () => {
    const raw = `redis://pool:${SECRET}@127.0.0.1:${redis.port}`;
    const port = await freePort();
    const file = path.join(dir, 'pool.yml');
    const good = `processor: ${fixture('record.mjs')}\nqueues: [q]\nprefix: ${uniquePrefix('secret-cli')}\nmin-workers: 1\nmax-workers: 1\nmetrics-port: ${port}\n`;
    writeFileSync(file, good);
    // In argv (what the README warns against) and in the environment, where children used to find it.
    const d = new CliProcess(['--config', file, '--redis-url', raw, '--log-format', 'json'], { env: { WORKER_POOL_REDIS_URL: raw } });
    try {
      await d.waitForLog('worker ready');
      const url = `http://127.0.0.1:${port}`;
      await until(async () => (await d.status()).ready === true, 'ready through the ACL user');
      const status = await (await fetch(`${url}/status`)).text();
      expect(status).toContain('pool:***@127.0.0.1');
      const cmdline = readFileSync(`/proc/${d.proc.pid}/cmdline`, 'utf8');
      expect(leaks(cmdline), `the supervisor's command line: ${cmdline}`).toBe(false);
      const s = await d.status();
      for (const w of s.workers) {
        const environ = readFileSync(`/proc/${w.pid}/environ`, 'utf8');
        expect(leaks(environ), "a worker's environment").toBe(false);
        expect(environ).not.toContain('WORKER_POOL_');
      }
      expect(leaks(JSON.stringify(d.logs)), 'the logs').toBe(false);
      expect(leaks(d.stderr), 'stderr').toBe(false);
    } finally {
      await d.stop();
    }
  });

  it('?password= in the URL is redacted in the start-up log and /status, and in a refused reload\'s error', async () => {
    const port = await freePort();
    const file = path.join(dir, 'query.yml');
    const good = `processor: ${fixture('record.mjs')}\nqueues: [q]\nprefix: ${uniquePrefix('secret-q')}\nmetrics-port: ${port}\n`;
    writeFileSync(file, good + `redis-url: "redis://127.0.0.1:${redis.port}/0?username=pool&password=${ENCODED}"\n`);
    const d = new CliProcess(['--config', file, '--log-format', 'json']);
    try {
      const started = await d.waitForLog('worker-pool starting');
      expect(started['redis']).toBe(`redis://127.0.0.1:${redis.port}/0?username=pool&password=***`);
      await d.waitForLog('worker ready');
      const url = `http://127.0.0.1:${port}`;
      await until(async () => (await d.status()).ready === true, 'ready with the password from the query');
      expect(leaks(await (await fetch(`${url}/status`)).text())).toBe(false);
      // A reload refused on a value that quotes the password (written as is).
      writeFileSync(file, good + `redis-url: "http://pool:${SECRET}@127.0.0.1"\n`);
      d.kill('SIGHUP');
      await d.waitForLog('reload refused; keeping the current config');
      const after = await (await fetch(`${url}/status`)).text();
      // A loopback-only pool without an access file shows a refused reload's error to its (local) client, redacted as the log has it (docs/http.md).
      expect(JSON.parse(after).lastReload).toMatchObject({ ok: false, error: expect.stringContaining('pool:***@127.0.0.1') });
      expect(JSON.stringify(d.logs)).toContain('pool:***@127.0.0.1');
      expect(leaks(after), `/status after the refused reload: ${after}`).toBe(false);
      expect(leaks(JSON.stringify(d.logs)), 'the logs').toBe(false);
      expect(leaks(d.stderr), 'stderr').toBe(false);
    } finally {
      await d.stop();
    }
  });

  it('check-config, flag and enqueue errors print it as ***', async () => {
    const file = path.join(dir, 'bad.yml');
    writeFileSync(file, `processor: ${fixture('record.mjs')}\nredis-url: "http://pool:${SECRET}@127.0.0.1:1"\n`);
    const check = await runCli(['check-config', file]);
    expect(check.code).toBe(78);
    expect(check.stdout).toContain('pool:***@127.0.0.1:1');
    expect(leaks(check.stdout + check.stderr), check.stdout).toBe(false);

    const flag = await runCli(['start', '--processor', fixture('record.mjs'), '--redis-url', `http://pool:${SECRET}@127.0.0.1:1`]);
    expect(flag.code).toBe(78);
    expect(leaks(flag.stdout + flag.stderr), flag.stderr).toBe(false);

    const closed = await freePort();
    const enqueue = await runCli(['enqueue', '--queue', 'q', '--redis-url', `redis://pool:${SECRET}@127.0.0.1:${closed}`]);
    expect(enqueue.code).toBe(69);
    expect(enqueue.stderr).toContain(`pool:***@127.0.0.1:${closed}`);
    expect(leaks(enqueue.stdout + enqueue.stderr), enqueue.stderr).toBe(false);
  });
});
