/**
 * Issue 13, item 7: readiness reflects fetch health. Against a read-only replica (READONLY) /readyz
 * answers 503 with the reason (no worker starts: the fleet registration is a write, refused too),
 * and /status carries BullMQ's eviction-policy warning. As an ACL user without EVALSHA (NOPERM:
 * BullMQ's scripts fail, the registry's EVAL works), every fetch fails: /readyz answers 503 with
 * the reason and the fetch-error metric counts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import type { Daemon } from '../../src/daemon/daemon.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { fixture, startPool, type TestPool } from '../helpers/pool.js';
import { redisUrl } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { readStatus } from '../helpers/http-request.js';

let pool: TestPool | undefined;
const servers: EmbeddedRedis[] = [];
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  await pool?.close();
  pool = undefined;
  for (const s of servers.splice(0)) await s.stop();
  for (const c of cleanups.splice(0)) await c();
});

const readyz = async (d: Daemon) => {
  const res = await fetch(`${d.url}/readyz`);
  return { status: res.status, body: await res.text() };
};
const metric = async (d: Daemon, name: string) => {
  const text = await (await fetch(`${d.url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(name + '{') || l.startsWith(name + ' '));
  return line === undefined ? undefined : Number(line.split(' ').pop());
};

describe('readiness follows fetch health', () => {
  it('a read-only replica: not ready, with the reason; eviction-policy warning shown', async () => {
    const master = await startEmbeddedRedis();
    const replica = await startEmbeddedRedis();
    servers.push(replica, master);
    const r = new Redis(replica.url);
    await r.call('REPLICAOF', '127.0.0.1', String(master.port));
    await r.config('SET', 'maxmemory-policy', 'allkeys-lru');
    r.disconnect();
    // No worker starts: the fleet registration is a write, refused too.
    pool = await startPool({ 'redis-url': replica.url, queues: 'q', processor: fixture('record.mjs'), 'min-workers': '1', 'max-workers': '1' }, { waitReady: false });
    const d = pool.daemon;
    const seen = await until(async () => {
      const r = await readyz(d);
      return r.status === 503 && /fails to fetch|read-only replica/.test(r.body) ? r : undefined;
    }, '/readyz not ready because fetches fail', 30_000, 250);
    console.log(`READONLY: /readyz ${seen.status} ${seen.body.trim()}`);
    expect(seen.body).toMatch(/read-only replica/);
    expect(seen.body).toMatch(/not registered in the fleet registry yet/);
    const status = await readStatus(d.url);
    expect(status.redis.evictionPolicy).toBe('allkeys-lru');
    expect(status.redis.warning).toMatch(/noeviction/);
    expect(status.readyReasons.length).toBeGreaterThan(0);
    expect(await metric(d, 'worker_pool_redis_eviction_policy_unsafe')).toBe(1);
  });

  it('an ACL user without EVALSHA (NOPERM): not ready with the reason, fetch errors counted', async () => {
    const admin = new Redis(redisUrl());
    const user = `wp-noperm-${Math.random().toString(16).slice(2, 8)}`;
    await admin.call('ACL', 'SETUSER', user, 'on', '>secret-pw', '~*', '&*', '+@all', '-evalsha');
    cleanups.push(async () => {
      await admin.call('ACL', 'DELUSER', user);
      admin.disconnect();
    });
    const u = new URL(redisUrl());
    u.username = user;
    u.password = 'secret-pw';
    pool = await startPool({ 'redis-url': u.toString(), queues: 'q', processor: fixture('record.mjs'), 'min-workers': '1', 'max-workers': '1' }, { waitReady: false });
    const d = pool.daemon;
    const seen = await until(async () => {
      const r = await readyz(d);
      return r.status === 503 && /fails to fetch/.test(r.body) ? r : undefined;
    }, '/readyz not ready because fetches fail', 30_000, 250);
    console.log(`NOPERM: /readyz ${seen.status} ${seen.body.trim()}`);
    expect(((await metric(d, 'worker_pool_fetch_errors_total')) ?? 0)).toBeGreaterThan(0);
  });
});
