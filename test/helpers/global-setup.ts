/**
 * One Redis for the whole run: $REDIS_URL when set, else a private redis-server started here.
 * A missing redis-server is a failure with a clear message, never a skip.
 */
import type { TestProject } from 'vitest/node';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';

let redis: EmbeddedRedis | undefined;

export async function setup(project: TestProject): Promise<void> {
  let url = process.env['REDIS_URL'];
  if (!url) {
    try {
      redis = await startEmbeddedRedis();
    } catch (err) {
      throw new Error(`tests need Redis: set REDIS_URL or install redis-server (${(err as Error).message})`);
    }
    url = redis.url;
  }
  project.provide('redisUrl', url);
}

export async function teardown(): Promise<void> {
  await redis?.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}
