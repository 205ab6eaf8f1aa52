/** The HA connection settings: Sentinel and Cluster options, their checks, and the passwords read from files. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadWithSecrets } from '../../src/config/secret-files.js';
import { clusterOptions, hasHashTag, parseEndpoints, reconnectOnError } from '../../src/redis/connection.js';
import { takeable } from '../../src/supervisor/stuck-watch.js';
import type { QueueSnapshot } from '../../src/redis/queue-counts.js';
import { configErrorOf as configError } from '../helpers/config-error.js';

describe('Redis Sentinel and Cluster settings', () => {
  it('Sentinel: endpoints, master name, data-node password from --redis-password-file, sentinel password from the credentials directory', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wp-ha-'));
    writeFileSync(path.join(dir, 'redis-password'), 'data/pw\n');
    writeFileSync(path.join(dir, 'redis-sentinel-password'), 'sentinel-pw\n');
    const c = loadWithSecrets({ flags: { 'redis-sentinels': '10.0.0.1:26379, 10.0.0.2:26380', 'redis-sentinel-name': 'jobs' }, env: { CREDENTIALS_DIRECTORY: dir } });
    expect(c.redis.sentinels).toEqual([{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26380 }]);
    expect(c.redis.sentinelName).toBe('jobs');
    expect(c.redis.sentinelPassword).toBe('sentinel-pw');
    expect(decodeURIComponent(new URL(c.redis.url).password)).toBe('data/pw');
    expect(c.redis.clusterNodes).toBeUndefined();
  });

  it('the same options come from WORKER_POOL_* and YAML', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'wp-ha-'));
    const file = path.join(dir, 'pool.yml');
    writeFileSync(file, 'redis-cluster-nodes: [127.0.0.1:7000, 127.0.0.1:7001]\nprefix: "{jobs}"\n');
    expect(loadWithSecrets({ flags: { config: file }, env: {} }).redis.clusterNodes).toHaveLength(2);
    expect(loadWithSecrets({ flags: {}, env: { WORKER_POOL_REDIS_SENTINELS: 's1:26379' } }).redis.sentinels).toEqual([{ host: 's1', port: 26379 }]);
  });

  it('Cluster: a prefix without a {hash tag} is refused with one line; bad endpoints and both modes at once too', () => {
    expect(configError(() => loadWithSecrets({ flags: { 'redis-cluster-nodes': '127.0.0.1:7000' }, env: {} }))).toMatch(/^prefix: "bull" is not allowed with redis-cluster-nodes; expected a prefix with a \{hash tag\}, e\.g\. "\{bull\}"/);
    expect(loadWithSecrets({ flags: { 'redis-cluster-nodes': '127.0.0.1:7000', prefix: 'app:{jobs}' }, env: {} }).redis.clusterNodes).toEqual([{ host: '127.0.0.1', port: 7000 }]);
    expect(configError(() => loadWithSecrets({ flags: { 'redis-sentinels': 'nohost' }, env: {} }))).toMatch(/^--redis-sentinels: "nohost" is not allowed; expected a comma-separated list of HOST:PORT/);
    expect(configError(() => loadWithSecrets({ flags: { 'redis-cluster-nodes': 'a:70000', prefix: '{x}' }, env: {} }))).toMatch(/redis-cluster-nodes/);
    expect(configError(() => loadWithSecrets({ flags: { 'redis-sentinels': 'a:1', 'redis-cluster-nodes': 'b:2', prefix: '{x}' }, env: {} }))).toMatch(/not allowed together/);
  });

  it('hash tags as Redis reads them: the first {…} that is not empty', () => {
    expect(hasHashTag('{jobs}')).toBe(true);
    expect(hasHashTag('app:{jobs}:x')).toBe(true);
    expect(hasHashTag('{}jobs')).toBe(false);
    expect(hasHashTag('{}{jobs}')).toBe(false); // Redis stops at the first '}': empty tag, whole key hashed
    expect(hasHashTag('bull')).toBe(false);
    expect(parseEndpoints(['[::1]:7000'])).toEqual([{ host: '::1', port: 7000 }]);
  });

  it('READONLY reconnects: resending through Sentinel/Cluster, failing the command on a plain URL; cluster retries redirections', () => {
    const err = new Error("READONLY You can't write against a read only replica.");
    expect(reconnectOnError(true)(err)).toBe(2);
    expect(reconnectOnError(false)(err)).toBe(1);
    expect(reconnectOnError(true)(new Error('NOPERM no'))).toBe(false);
    const o = clusterOptions({ url: 'redis://u:p%2Fw@x/3', clusterNodes: [{ host: 'a', port: 1 }] });
    expect(o.redisOptions).toMatchObject({ username: 'u', password: 'p/w', maxRetriesPerRequest: null });
    expect(o.redisOptions).not.toHaveProperty('db');
    expect(o.retryDelayOnTryAgain).toBeGreaterThan(0);
    expect(o.retryDelayOnMoved).toBeGreaterThan(0);
  });
});

describe('watchdog: which queues have jobs a free slot may take', () => {
  const snap = (waiting: number, active = 0, paused = false, prioritized = 0): QueueSnapshot => ({
    counts: { waiting, active, prioritized, delayed: 0, paused: 0, completed: 0, failed: 0, 'waiting-children': 0 },
    paused,
    oldestAgeSeconds: 0,
  });
  it('waiting or prioritized jobs, unless paused, rate-limited or at the global limit', () => {
    expect(takeable(snap(3), undefined, false)).toBe(true);
    expect(takeable(snap(0, 0, false, 2), undefined, false)).toBe(true);
    expect(takeable(snap(0), undefined, false)).toBe(false);
    expect(takeable(snap(3, 0, true), undefined, false)).toBe(false);
    expect(takeable(snap(3), undefined, true)).toBe(false);
    expect(takeable(snap(3, 1), 1, false)).toBe(false);
    expect(takeable(snap(3, 1), 2, false)).toBe(true);
  });
});
