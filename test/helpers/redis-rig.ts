/**
 * Real Redis topologies for the HA and TLS tests: one redis-server per node on a free loopback port
 * with its own data directory and config file, stopped by pid. A Sentinel rig (a master, two
 * replicas, three sentinels, down-after 1 s, failover-timeout 3 s), a Cluster rig (three masters, no
 * replicas), and a TLS-only node. (A plain private server is src/redis/embedded.ts.)
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { connect } from '../../src/redis/connection.js';
import { redisServerPath } from '../../src/redis/embedded.js';
import { until } from './wait.js';

export interface RigNode {
  port: number;
  dir: string;
  proc: ChildProcess | undefined;
  /** Start (again) on the same port and directory. */
  start(): Promise<void>;
  /** SIGKILL, and wait for the exit. */
  kill9(): Promise<void>;
  stop(): Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** A free port whose +10000 (a cluster node's bus port) is free too. */
export async function freeRigPort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20000 + Math.floor(Math.random() * 25000);
    if ((await portFree(port)) && (await portFree(port + 10000))) return port;
  }
  throw new Error('no free port pair found on 127.0.0.1');
}

async function waitListening(port: number, proc: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`redis-server on ${port} exited with ${proc.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => (s.destroy(), resolve(true)));
      s.once('error', () => (s.destroy(), resolve(false)));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function requireRedisServer(): string {
  const bin = redisServerPath();
  if (!bin) throw new Error('redis-server was not found on PATH; the HA tests need it (apt-get install redis-server)');
  return bin;
}

export interface RigNodeOptions {
  /** A sentinel, not a server. */
  sentinel?: boolean;
  /** TLS only: `port` is the TLS port (no plain one), with this certificate and key (clients need no certificate). */
  tls?: { cert: string; key: string };
}

/** One redis-server (or sentinel) with a config file written once; `start` may be called again after a kill. */
export function rigNode(root: string, name: string, port: number, conf: string[], opts: RigNodeOptions = {}): RigNode {
  const bin = requireRedisServer();
  const sentinel = opts.sentinel ?? false;
  const dir = path.join(root, name);
  spawnSync('mkdir', ['-p', dir]);
  const file = path.join(dir, sentinel ? 'sentinel.conf' : 'redis.conf');
  const ports = opts.tls
    ? ['port 0', `tls-port ${port}`, `tls-cert-file ${opts.tls.cert}`, `tls-key-file ${opts.tls.key}`, `tls-ca-cert-file ${opts.tls.cert}`, 'tls-auth-clients no']
    : [`port ${port}`];
  writeFileSync(file, [...ports, 'bind 127.0.0.1', `dir ${dir}`, 'daemonize no', 'save ""', 'appendonly no', ...conf].join('\n') + '\n');
  const node: RigNode = {
    port,
    dir,
    proc: undefined,
    async start() {
      const proc = spawn(bin, sentinel ? [file, '--sentinel'] : [file], { stdio: ['ignore', 'ignore', 'inherit'] });
      node.proc = proc;
      await waitListening(port, proc);
    },
    async kill9() {
      const p = node.proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = once(p, 'exit');
      p.kill('SIGKILL');
      await exited;
    },
    async stop() {
      await node.kill9();
    },
  };
  return node;
}

export interface SentinelRig {
  name: string;
  nodes: RigNode[];
  sentinels: RigNode[];
  /** "127.0.0.1:P,…" of the sentinels. */
  sentinelList: string;
  /** The node the sentinels call master now. */
  master(): Promise<RigNode>;
  /** Wait until the master has both replicas online (after a failover the sentinels re-point them within ~10 s). */
  waitHealthy(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startSentinelRig(name = 'mymaster'): Promise<SentinelRig> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wp-sentinel-'));
  const ports = [await freeRigPort(), await freeRigPort(), await freeRigPort()];
  const nodes = ports.map((p, i) => rigNode(root, `node${i}`, p, i === 0 ? [] : [`replicaof 127.0.0.1 ${ports[0]}`]));
  for (const n of nodes) await n.start();
  const sentinels: RigNode[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freeRigPort();
    const s = rigNode(root, `sentinel${i}`, port, [
      `sentinel monitor ${name} 127.0.0.1 ${ports[0]} 2`,
      `sentinel down-after-milliseconds ${name} 1000`,
      `sentinel failover-timeout ${name} 3000`,
      `sentinel parallel-syncs ${name} 1`,
    ], { sentinel: true });
    await s.start();
    sentinels.push(s);
  }
  const ask = async (cmd: string[]) => {
    const c = new Redis(sentinels[0]!.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await c.connect();
      return await c.call('SENTINEL', ...cmd);
    } finally {
      c.disconnect();
    }
  };
  // Ready when every sentinel knows both replicas and the other sentinels.
  await until(async () => {
    for (const s of sentinels) {
      const c = new Redis(s.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await c.connect();
        const replicas = (await c.call('SENTINEL', 'replicas', name)) as unknown[];
        const peers = (await c.call('SENTINEL', 'sentinels', name)) as unknown[];
        if (replicas.length < 2 || peers.length < 2) return undefined;
      } finally {
        c.disconnect();
      }
    }
    return true;
  }, 'the sentinels to see the replicas and each other', 20_000, 100);
  const rig: SentinelRig = {
    name,
    nodes,
    sentinels,
    sentinelList: sentinels.map((s) => `127.0.0.1:${s.port}`).join(','),
    async master() {
      const [, port] = (await ask(['get-master-addr-by-name', name])) as [string, string];
      const node = nodes.find((n) => n.port === Number(port));
      if (!node) throw new Error(`sentinels name an unknown master port ${port}`);
      return node;
    },
    async waitHealthy(timeoutMs = 30_000) {
      await until(async () => {
        const m = await rig.master();
        const c = new Redis(m.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
        try {
          await c.connect();
          const info = await c.info('replication');
          const online = (info.match(/^slave\d+:.*state=online/gm) ?? []).length;
          return /^role:master/m.test(info) && online >= nodes.length - 1 ? true : undefined;
        } finally {
          c.disconnect();
        }
      }, 'the master to have every replica online', timeoutMs, 100);
    },
    async stop() {
      for (const n of [...sentinels, ...nodes]) await n.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
  return rig;
}

export interface ClusterRig {
  nodes: RigNode[];
  /** "127.0.0.1:P,…" of every node. */
  nodeList: string;
  /** A cluster client on every node, as the daemon connects (its connection errors are ignored: commands say them). */
  connect(): Redis;
  stop(): Promise<void>;
}

export async function startClusterRig(masters = 3): Promise<ClusterRig> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wp-cluster-'));
  const nodes: RigNode[] = [];
  for (let i = 0; i < masters; i++) {
    const port = await freeRigPort();
    const n = rigNode(root, `node${i}`, port, ['cluster-enabled yes', `cluster-config-file ${path.join(root, `node${i}`, 'nodes.conf')}`, 'cluster-node-timeout 2000']);
    await n.start();
    nodes.push(n);
  }
  const create = spawnSync('redis-cli', ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '0', '--cluster-yes'], { encoding: 'utf8' });
  if (create.status !== 0) throw new Error(`redis-cli --cluster create failed: ${create.stdout}${create.stderr}`);
  // Ready when every node says the cluster is ok.
  await until(async () => {
    for (const n of nodes) {
      const c = new Redis(n.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await c.connect();
        const info = (await c.call('CLUSTER', 'INFO')) as string;
        if (!/cluster_state:ok/.test(info)) return undefined;
      } finally {
        c.disconnect();
      }
    }
    return true;
  }, 'the cluster to be ok', 20_000, 100);
  return {
    nodes,
    nodeList: nodes.map((n) => `127.0.0.1:${n.port}`).join(','),
    connect() {
      const client = connect({ url: 'redis://', clusterNodes: nodes.map((n) => ({ host: '127.0.0.1', port: n.port })) }, { connectionName: 'test' });
      client.on('error', () => undefined);
      return client;
    },
    async stop() {
      for (const n of nodes) await n.stop();
      rmSync(root, { recursive: true, force: true });
    },
  };
}
