/**
 * Reads the files a validated config names for its secrets: the Redis password (into the URL, which
 * only ever travels in memory and over IPC), the Sentinel password, and the HTTP access file. Each
 * secret read is remembered for redaction (secrets.ts), so no printer shows it from then on. Files
 * come from their option, else from systemd's $CREDENTIALS_DIRECTORY (LoadCredential=).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { rememberSecret } from '../secrets.js';
import { checkHttpExposure } from './http-access.js';
import { loadConfig, type LoadInput, type PoolConfig } from './load.js';
import { ConfigError } from './schema.js';

/** The config with its secrets read from their files. */
export function readSecretFiles(config: PoolConfig, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): PoolConfig {
  const redisUrl = withPasswordFile(config.redisUrl, config.redisPasswordFile, env, cwd);
  const redis = { ...config.redis, url: redisUrl };
  if (redis.sentinels) {
    const password = readSecret('redis-sentinel-password-file', config.redisSentinelPasswordFile, 'redis-sentinel-password', env, cwd);
    if (password) redis.sentinelPassword = password;
  }
  return { ...config, redisUrl, redis, httpAccess: checkHttpExposure(config, env, cwd) };
}

/** loadConfig, then readSecretFiles: a config ready to connect with, for commands that talk to Redis. */
export function loadWithSecrets(input: LoadInput = {}): PoolConfig {
  return readSecretFiles(loadConfig(input), input.env ?? process.env, input.cwd ?? process.cwd());
}

/**
 * The Redis password from a file, put into the URL: --redis-password-file, else
 * $CREDENTIALS_DIRECTORY/redis-password when present. A password file wins over one in the URL; an
 * empty file means no password (a unit may always load the credential, even for a Redis without one).
 */
export function withPasswordFile(url: string, file: string | undefined, env: NodeJS.ProcessEnv, cwd: string): string {
  const password = readSecret('redis-password-file', file, 'redis-password', env, cwd);
  if (password === undefined) return url;
  const u = new URL(url);
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** A secret from its file, else from systemd's $CREDENTIALS_DIRECTORY/<credential>; empty means none. */
function readSecret(key: string, file: string | undefined, credential: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  let source = file ? path.resolve(cwd, file) : undefined;
  const credDir = env['CREDENTIALS_DIRECTORY'];
  if (!source && credDir && existsSync(path.join(credDir, credential))) source = path.join(credDir, credential);
  if (!source) return undefined;
  let secret: string;
  try {
    secret = readFileSync(source, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    throw new ConfigError(`${key}: cannot read ${source} (${(err as NodeJS.ErrnoException).code ?? 'unreadable'})`);
  }
  if (secret === '') return undefined;
  rememberSecret(secret);
  return secret;
}
