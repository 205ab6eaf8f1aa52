/** Redis for tests: the run's shared server, a unique key prefix per test, cleanup, and a private server with one password user. */
import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { inject } from 'vitest';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';

export function redisUrl(): string {
  return inject('redisUrl');
}

/** A BullMQ prefix no other test uses, so tests never see each other's jobs. */
export function uniquePrefix(label = 't'): string {
  return `wp-test-${label}-${randomBytes(4).toString('hex')}`;
}

export function client(url = redisUrl()): Redis {
  return new Redis(url, { maxRetriesPerRequest: null });
}

/** Delete every key under a prefix (SCAN, never KEYS). */
export async function deletePrefix(prefix: string, url = redisUrl()): Promise<void> {
  const c = client(url);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await c.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await c.del(...keys);
    } while (cursor !== '0');
  } finally {
    c.disconnect();
  }
}

export function queue(name: string, prefix: string, url = redisUrl()): Queue {
  return new Queue(name, { connection: { url, maxRetriesPerRequest: null } as never, prefix });
}

/** A private redis-server whose only user is `user` with this password (no anonymous access). */
export async function startRedisWithUser(user: string, password: string): Promise<EmbeddedRedis> {
  const redis = await startEmbeddedRedis();
  const admin = new Redis(redis.url);
  try {
    await admin.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all');
    await admin.call('ACL', 'SETUSER', 'default', 'off');
  } finally {
    admin.disconnect();
  }
  return redis;
}
