/**
 * Issue 3, item 8: the Redis password (here an ACL user's) comes from a file or systemd's
 * credentials directory, works, and appears in no command line, log line, /status or /metrics.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/schema.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { fixture, startDaemon } from '../helpers/daemon.js';
import { queue as openQueue, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const SECRET = 'pa55-w0rd:with/odd@chars';
let redis: EmbeddedRedis;
let dir: string;

beforeAll(async () => {
  redis = await startEmbeddedRedis();
  const admin = new Redis(redis.url);
  await admin.call('ACL', 'SETUSER', 'pool', 'on', `>${SECRET}`, '~*', '&*', '+@all');
  await admin.call('ACL', 'SETUSER', 'default', 'off'); // no anonymous access from here on
  admin.disconnect();
  dir = mkdtempSync(path.join(os.tmpdir(), 'wp-secret-'));
  writeFileSync(path.join(dir, 'redis-password'), SECRET + '\n', { mode: 0o600 });
});
afterAll(async () => {
  await redis.stop();
});

describe('Redis password', () => {
  it('--redis-password-file and $CREDENTIALS_DIRECTORY/redis-password fill the URL; bad files are one-line errors', () => {
    const base = `redis://pool@127.0.0.1:${redis.port}`;
    const fromFlag = loadConfig({ flags: { 'redis-url': base, 'redis-password-file': path.join(dir, 'redis-password') }, env: {} });
    expect(decodeURIComponent(new URL(fromFlag.redisUrl).password)).toBe(SECRET);
    const fromSystemd = loadConfig({ flags: { 'redis-url': base }, env: { CREDENTIALS_DIRECTORY: dir } });
    expect(fromSystemd.redisUrl).toBe(fromFlag.redisUrl);
    expect(() => loadConfig({ flags: { 'redis-password-file': path.join(dir, 'missing') }, env: {} })).toThrow(ConfigError);
    expect(() => loadConfig({ flags: { 'redis-password-file': path.join(dir, 'missing') }, env: {} })).toThrow(/redis-password-file: cannot read .*missing \(ENOENT\)/);
  });

  it('an ACL user with a password from a file works, and the password shows nowhere', async () => {
    const prefix = uniquePrefix('secret');
    const d = await startDaemon({ 'redis-url': `redis://pool@127.0.0.1:${redis.port}`, 'redis-password-file': path.join(dir, 'redis-password'), prefix, queues: 'q', processor: fixture('record.mjs'), 'min-workers': '2', 'max-workers': '2' });
    const q = openQueue('q', prefix, d.config.redisUrl);
    try {
      await q.add('ok', { ms: 5 }, { jobId: 'a' });
      await until(async () => (await q.getJobState('a')) === 'completed', 'a job completed through the ACL user');
      expect(await d.ready()).toBe(true);
      const status = await (await fetch(`${d.url}/status`)).text();
      const metrics = await (await fetch(`${d.url}/metrics`)).text();
      const encoded = encodeURIComponent(SECRET);
      for (const [where, text] of [['/status', status], ['/metrics', metrics], ['logs', JSON.stringify(d.logs)]] as const) {
        expect(text.includes(SECRET) || text.includes(encoded), `${where} shows the password`).toBe(false);
      }
      expect(status).toContain('pool:***@');
      for (const w of d.supervisor.workers()) {
        const cmdline = readFileSync(`/proc/${w.pid}/cmdline`, 'utf8');
        expect(cmdline.includes(SECRET) || cmdline.includes(encoded), `worker ${w.id}'s command line shows the password`).toBe(false);
        const environ = readFileSync(`/proc/${w.pid}/environ`, 'utf8');
        expect(environ.includes(SECRET) || environ.includes(encoded), `worker ${w.id}'s environment shows the password`).toBe(false);
      }
    } finally {
      await q.close();
      await d.stop();
    }
  });
});
