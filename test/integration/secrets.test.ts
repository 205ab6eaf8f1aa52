/**
 * Issue 3, item 8: the Redis password (here an ACL user's) comes from a file or systemd's
 * credentials directory, works, and appears in no command line, log line, /status or /metrics.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadWithSecrets } from '../../src/config/secret-files.js';
import { ConfigError } from '../../src/config/schema.js';
import { freePort, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { CliProcess } from '../helpers/cli.js';
import { fixture, startPool } from '../helpers/pool.js';
import { freeRigPort, rigNode } from '../helpers/redis-rig.js';
import { startRedisWithUser, uniquePrefix } from '../helpers/redis.js';
import { untilReady } from '../helpers/http-request.js';
import { until } from '../helpers/wait.js';

const SECRET = 'pa55-w0rd:with/odd@chars';
let redis: EmbeddedRedis;
let dir: string;

beforeAll(async () => {
  redis = await startRedisWithUser('pool', SECRET);
  dir = mkdtempSync(path.join(os.tmpdir(), 'wp-secret-'));
  writeFileSync(path.join(dir, 'redis-password'), SECRET + '\n', { mode: 0o600 });
});
afterAll(async () => {
  await redis.stop();
});

describe('Redis password', () => {
  it('--redis-password-file and $CREDENTIALS_DIRECTORY/redis-password fill the URL; bad files are one-line errors', () => {
    const base = `redis://pool@127.0.0.1:${redis.port}`;
    const fromFlag = loadWithSecrets({ flags: { 'redis-url': base, 'redis-password-file': path.join(dir, 'redis-password') }, env: {} });
    expect(decodeURIComponent(new URL(fromFlag.redisUrl).password)).toBe(SECRET);
    const fromSystemd = loadWithSecrets({ flags: { 'redis-url': base }, env: { CREDENTIALS_DIRECTORY: dir } });
    expect(fromSystemd.redisUrl).toBe(fromFlag.redisUrl);
    writeFileSync(path.join(dir, 'empty'), '');
    expect(loadWithSecrets({ flags: { 'redis-url': base, 'redis-password-file': path.join(dir, 'empty') }, env: {} }).redisUrl).toBe(`${base}`);
    expect(() => loadWithSecrets({ flags: { 'redis-password-file': path.join(dir, 'missing') }, env: {} })).toThrow(ConfigError);
    expect(() => loadWithSecrets({ flags: { 'redis-password-file': path.join(dir, 'missing') }, env: {} })).toThrow(/redis-password-file: cannot read .*missing \(ENOENT\)/);
  });

  it('an ACL user with a password from a file works, and the password shows nowhere', async () => {
    const pool = await startPool({ 'redis-url': `redis://pool@127.0.0.1:${redis.port}`, 'redis-password-file': path.join(dir, 'redis-password'), queues: 'q', processor: fixture('record.mjs'), 'min-workers': '2', 'max-workers': '2' }, { waitReady: false });
    const { daemon: d, queue: q } = pool;
    try {
      await q.add('ok', { ms: 5 }, { jobId: 'a' });
      await until(async () => (await q.getJobState('a')) === 'completed', 'a job completed through the ACL user');
      await until(() => d.ready(), 'ready (Redis answers the ACL user, both workers running)');
      const status = await (await fetch(`${d.url}/status`)).text();
      const metrics = await (await fetch(`${d.url}/metrics`)).text();
      const encoded = encodeURIComponent(SECRET);
      for (const [where, text] of [['/status', status], ['/metrics', metrics], ['logs', JSON.stringify(pool.logs)]] as const) {
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
      await pool.close();
    }
  });
});

describe('TLS', () => {
  it('rediss:// works end to end against a TLS-only redis-server (CA trusted via NODE_EXTRA_CA_CERTS)', async () => {
    const tlsDir = mkdtempSync(path.join(os.tmpdir(), 'wp-tls-'));
    const key = path.join(tlsDir, 'key.pem');
    const cert = path.join(tlsDir, 'cert.pem');
    const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
    expect(made.status, `openssl failed: ${made.stderr}`).toBe(0);
    const tlsPort = await freeRigPort();
    const server = rigNode(tlsDir, 'redis', tlsPort, [], { tls: { cert, key } });
    await server.start();
    const metricsPort = await freePort();
    const prefix = uniquePrefix('tls');
    const url = `rediss://127.0.0.1:${tlsPort}`;
    const cli = new CliProcess(['start', '--redis-url', url, '--prefix', prefix, '--queues', 'q', '--processor', fixture('record.mjs'), '--metrics-port', String(metricsPort), '--log-format', 'json'], { env: { NODE_EXTRA_CA_CERTS: cert } });
    const q = new Queue('q', { prefix, connection: { host: '127.0.0.1', port: tlsPort, tls: { ca: readFileSync(cert) }, maxRetriesPerRequest: null } });
    q.on('error', () => undefined);
    try {
      // Ready: its Redis answered over TLS.
      await untilReady(`http://127.0.0.1:${metricsPort}`);
      await q.add('ok', { ms: 5 }, { jobId: 'tls-job' });
      await until(async () => (await q.getJobState('tls-job')) === 'completed', 'a job completed over TLS');
    } finally {
      await q.close();
      await cli.stop();
      await server.stop();
    }
  });
});
