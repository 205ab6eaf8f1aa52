/** A CLI command's Redis connection: reachable within a few seconds, or a one-line error (exit 69). */
import type { Redis } from 'ioredis';
import { normalizeRedisUrl, redactUrl } from '../config/redact.js';
import { connect } from '../redis/connection.js';
import { CliError, EXIT } from './exit-codes.js';

export async function connectOrFail(given: string, name: string): Promise<Redis> {
  // A password with '/' or '@' written as is would otherwise not parse (and ioredis's error quotes the URL).
  const url = normalizeRedisUrl(given);
  let valid = false;
  try {
    valid = ['redis:', 'rediss:'].includes(new URL(url).protocol);
  } catch {
    valid = false;
  }
  if (!valid) throw new CliError(`redis-url: ${JSON.stringify(redactUrl(url))} is not allowed; expected redis://[user:password@]host[:port][/db] or rediss://…`, EXIT.USAGE);
  const client = connect(url, { failFast: true, connectionName: name });
  // The socket's own error (ECONNREFUSED, ENOTFOUND, NOAUTH…) says more than the retry limit does.
  let lastError: string | undefined;
  client.on('error', (err: Error) => (lastError = err.message));
  try {
    await Promise.race([client.ping(), new Promise((_, reject) => setTimeout(() => reject(new Error('timed out')), 3000).unref())]);
  } catch (err) {
    client.disconnect();
    throw new CliError(`redis-url: cannot reach Redis at ${redactUrl(url)} (${lastError ?? (err as Error).message})`, EXIT.UNAVAILABLE);
  }
  return client;
}
