/** Redis connections built from plain settings: the same options for the supervisor and its children. */
import { Redis, type RedisOptions } from 'ioredis';

export interface ConnectOptions {
  /** Name shown by CLIENT LIST, to tell pools and workers apart. */
  connectionName?: string;
  /** Fail a command after one reconnect attempt instead of waiting for Redis forever (probes, CLI). */
  failFast?: boolean;
}

export function redisOptions(opts: ConnectOptions = {}): RedisOptions {
  return {
    // BullMQ requires this for connections used by workers: commands wait for a reconnect.
    maxRetriesPerRequest: opts.failFast ? 1 : null,
    connectionName: opts.connectionName,
    // Back off up to 2 s between reconnect attempts; never give up (a daemon outlives outages).
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 5), 2000),
    lazyConnect: false,
  };
}

export function connect(url: string, opts: ConnectOptions = {}): Redis {
  return new Redis(url, redisOptions(opts));
}
