/**
 * Redis connections built from plain settings: one function makes the client of every part (the
 * supervisor, its children, the CLI, the producer), for a standalone server, a Sentinel-watched
 * master or a Redis Cluster, with the same options everywhere.
 */
import { createRequire } from 'node:module';
import type { ClusterOptions, RedisOptions } from 'ioredis';

// require(), not import: ioredis is CommonJS, and importing it from an ES module makes Node scan its
// files for export names, ~20 ms of every worker child's start-up (see worker/bullmq.ts). Same module.
const { Cluster, Redis } = createRequire(import.meta.url)('ioredis') as typeof import('ioredis');
type Cluster = import('ioredis').Cluster;
type Redis = import('ioredis').Redis;

import type { RedisEndpoint } from './endpoints.js';

export { hasHashTag, parseEndpoints, type RedisEndpoint } from './endpoints.js';

/**
 * Where Redis is, as plain data (it travels to children over IPC). `url` always holds the data
 * nodes' user, password, database and TLS; its host is used only when neither `sentinels` nor
 * `clusterNodes` is given.
 */
export interface RedisTarget {
  url: string;
  /** Sentinel mode: these sentinels name the master of `sentinelName`. */
  sentinels?: RedisEndpoint[];
  sentinelName?: string;
  /** Password of the sentinels themselves (they often have none). */
  sentinelPassword?: string;
  /** Cluster mode: any of the cluster's nodes (the rest are discovered). */
  clusterNodes?: RedisEndpoint[];
}

/** A connection of any mode; BullMQ takes both. */
export type RedisClient = Redis | Cluster;

export interface ConnectOptions {
  /** Name shown by CLIENT LIST, to tell pools and workers apart. */
  connectionName?: string;
  /** Fail a command after one reconnect attempt instead of waiting for Redis forever (probes, CLI). */
  failFast?: boolean;
}

/** Back off up to 2 s between reconnect attempts; never give up (a daemon outlives outages). */
const retryStrategy = (times: number): number => Math.min(100 * 2 ** Math.min(times, 5), 2000);

/**
 * A replica answers writes with READONLY (a failover demoted the node we are connected to, or the
 * URL names a replica): reconnect. Through Sentinel or Cluster the reconnect reaches the new
 * master, so the command is sent again there (2); to a plain URL it reaches the same server
 * again, so the command fails (1) and its caller sees the error (counted as a fetch error)
 * instead of waiting forever on a replica.
 */
export function reconnectOnError(resend: boolean): (err: Error) => 1 | 2 | false {
  return (err) => (/^READONLY\b/.test(err.message) ? (resend ? 2 : 1) : false);
}

export function redisOptions(opts: ConnectOptions = {}): RedisOptions {
  return {
    // BullMQ requires this for connections used by workers: commands wait for a reconnect.
    maxRetriesPerRequest: opts.failFast ? 1 : null,
    connectionName: opts.connectionName,
    retryStrategy,
    reconnectOnError: reconnectOnError(false),
    lazyConnect: false,
  };
}

/** The data nodes' credentials, database and TLS from the URL. */
function urlOptions(url: string): RedisOptions {
  const u = new URL(url);
  const out: RedisOptions = {};
  if (u.username) out.username = decodeURIComponent(u.username);
  if (u.password) out.password = decodeURIComponent(u.password);
  const db = u.pathname.replace(/^\//, '');
  if (db !== '' && /^\d+$/.test(db)) out.db = Number(db);
  if (u.protocol === 'rediss:') out.tls = {};
  return out;
}

/**
 * How long, at least, a command keeps being retried while a reshard moves its slot (docs/redis-ha.md).
 * Moving a slot takes as long as moving its keys (about 4 s for 100,000 keys), and all that time
 * Redis answers TRYAGAIN to a command on several keys of the slot (every BullMQ script) once some
 * of them moved but not all, and ASK, then TRYAGAIN from the importing node, once all moved. ioredis
 * counts each such answer (MOVED, ASK, TRYAGAIN, CLUSTERDOWN, a closed connection) against one limit
 * per command, and sends a TRYAGAIN'd command again to a random master, which may answer MOVED and
 * then ASK: so a command may spend three redirections per 150 ms (100 ms after TRYAGAIN, 50 ms after
 * MOVED, none after ASK). With the limit sized at 50 ms per redirection, a migration shorter than
 * this is a pause; a slot left half-moved (a reshard that died) fails a command after this to twice it.
 */
export const SLOT_MIGRATION_RETRY_SECONDS = 30;
const RETRY_DELAY_ON_TRY_AGAIN_MS = 100;
const RETRY_DELAY_ON_MOVED_MS = 50;

export function clusterOptions(target: RedisTarget, opts: ConnectOptions = {}): ClusterOptions {
  const { db: _db, ...node } = urlOptions(target.url); // a cluster has one database
  return {
    redisOptions: { ...node, connectionName: opts.connectionName, reconnectOnError: reconnectOnError(true), maxRetriesPerRequest: opts.failFast ? 1 : null },
    clusterRetryStrategy: retryStrategy,
    // A reshard or a failover answers MOVED, ASK, TRYAGAIN or CLUSTERDOWN for a moment: retry.
    retryDelayOnMoved: RETRY_DELAY_ON_MOVED_MS,
    retryDelayOnTryAgain: RETRY_DELAY_ON_TRY_AGAIN_MS,
    retryDelayOnClusterDown: 200,
    retryDelayOnFailover: 200,
    maxRedirections: Math.ceil((SLOT_MIGRATION_RETRY_SECONDS * 1000) / ((RETRY_DELAY_ON_TRY_AGAIN_MS + RETRY_DELAY_ON_MOVED_MS) / 3)),
    enableReadyCheck: true,
    lazyConnect: false,
  };
}

/** The one way this project makes a Redis client: from a URL, or from a target of any mode. */
export function connect(target: RedisTarget | string, opts: ConnectOptions = {}): Redis {
  const t: RedisTarget = typeof target === 'string' ? { url: target } : target;
  if (t.clusterNodes && t.clusterNodes.length > 0) {
    // Typed as Redis for the callers' sake: every command they send exists on both, and the
    // callers that must reach every node (scans) check isCluster() first.
    return new Cluster(t.clusterNodes, clusterOptions(t, opts)) as unknown as Redis;
  }
  if (t.sentinels && t.sentinels.length > 0) {
    return new Redis({
      ...urlOptions(t.url),
      ...redisOptions(opts),
      reconnectOnError: reconnectOnError(true),
      sentinels: t.sentinels,
      name: t.sentinelName ?? 'mymaster',
      sentinelPassword: t.sentinelPassword,
      // Subscribe to +switch-master and reconnect at once, instead of when the old master dies.
      failoverDetector: true,
      sentinelRetryStrategy: retryStrategy,
    });
  }
  return new Redis(t.url, redisOptions(opts));
}

export function isCluster(client: RedisClient | Redis): client is Cluster {
  return (client as { isCluster?: boolean }).isCluster === true;
}

/** The connections to run a command on every master (a scan): the masters of a cluster, else the client. */
export function masters(client: Redis): Redis[] {
  return isCluster(client) ? (client as unknown as Cluster).nodes('master') : [client];
}

/** Where the client's commands go now ("host:port"; for a cluster, every master), for the operator. */
export function currentMasters(client: Redis): string[] {
  // A cluster node's own address is its options' (known before its socket is up); a Sentinel
  // connection's is only its socket's, the master the sentinels named.
  if (isCluster(client)) return (client as unknown as Cluster).nodes('master').map((n) => `${n.options.host}:${n.options.port}`).sort();
  return [client]
    .map((n) => {
      const s = n.stream as { remoteAddress?: string; remotePort?: number } | undefined;
      return s?.remoteAddress ? `${s.remoteAddress}:${s.remotePort}` : '';
    })
    .filter((a) => a !== '')
    .sort();
}
