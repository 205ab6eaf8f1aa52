/** A CLI command's Redis connection: reachable within a few seconds, or a one-line error (exit 69). */
import type { Redis } from 'ioredis';
import { normalizeRedisUrl, redactUrl } from '../secrets.js';
import { connect, type RedisTarget } from '../redis/connection.js';
import { CliError, EXIT } from './exit-codes.js';
import { withTimeout } from '../timing.js';

export async function connectOrFail(given: RedisTarget | string, name: string): Promise<Redis> {
  const target = typeof given === 'string' ? { url: given } : given;
  // A password with '/' or '@' written as is would otherwise not parse (and ioredis's error quotes the URL).
  const url = normalizeRedisUrl(target.url);
  let valid = false;
  try {
    valid = ['redis:', 'rediss:'].includes(new URL(url).protocol);
  } catch {
    valid = false;
  }
  if (!valid) throw new CliError(`redis-url: ${JSON.stringify(redactUrl(url))} is not allowed; expected redis://[user:password@]host[:port][/db] or rediss://…`, EXIT.USAGE);
  const t = { ...target, url };
  const client = connect(t, { failFast: true, connectionName: name });
  // The socket's own error (ECONNREFUSED, ENOTFOUND, NOAUTH…) says more than the retry limit does.
  let lastError: string | undefined;
  client.on('error', (err: Error) => (lastError = err.message));
  try {
    await withTimeout(client.ping(), 3000, 'timed out');
  } catch (err) {
    client.disconnect();
    throw new CliError(`${describeTarget(t)} (${lastError ?? (err as Error).message})`, EXIT.UNAVAILABLE);
  }
  return client;
}

/** "OPTION: cannot reach Redis at WHERE" (no password), for one-line errors. */
function describeTarget(t: RedisTarget): string {
  const list = (e: RedisTarget['sentinels']) => (e ?? []).map((x) => `${x.host}:${x.port}`).join(',');
  if (t.clusterNodes?.length) return `redis-cluster-nodes: cannot reach Redis Cluster at ${list(t.clusterNodes)}`;
  if (t.sentinels?.length) return `redis-sentinels: cannot reach the master ${t.sentinelName ?? 'mymaster'} through ${list(t.sentinels)}`;
  return `redis-url: cannot reach Redis at ${redactUrl(t.url)}`;
}
