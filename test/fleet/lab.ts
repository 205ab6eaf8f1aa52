/**
 * A lab of "hosts" for the fleet tests: each host is its own Linux network namespace with a veth
 * pair to a bridge the lab creates (10.251.N.0/24, N random per lab), Redis runs in a namespace of
 * its own, and daemons run inside their host's namespace under their own host name (a UTS
 * namespace). Everything is named after a random id, so a leftover from a crashed run never
 * collides, and close() removes every process, namespace and link it made. Needs root and
 * iproute2; if a namespace cannot be made, open() throws with the reason (the test fails).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach } from 'vitest';
import { BIN, startCli, type CliProcess } from '../helpers/cli.js';
import { until } from '../helpers/wait.js';

export { FIXTURES } from '../helpers/pool.js';

const run = promisify(execFile);

async function ip(...args: string[]): Promise<string> {
  try {
    const { stdout } = await run('ip', args);
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

export interface Host {
  name: string;
  ns: string;
  veth: string;
  addr: string;
}

/** worker-pool running inside a host. */
export type HostDaemon = CliProcess & { host: Host };

export class Lab {
  readonly id = randomBytes(3).toString('hex');
  readonly net = randomInt(1, 250);
  readonly bridge = `wpb${this.id}`;
  readonly hosts: Host[] = [];
  readonly daemons: HostDaemon[] = [];
  private redisProc: ChildProcess | undefined;
  private redisNs: Host | undefined;
  private nextAddr = 10;
  private clients: Redis[] = [];
  private queues: Queue[] = [];

  static async open(): Promise<Lab> {
    const lab = new Lab();
    try {
      await ip('link', 'add', lab.bridge, 'type', 'bridge');
      await ip('addr', 'add', `10.251.${lab.net}.254/24`, 'dev', lab.bridge);
      await ip('link', 'set', lab.bridge, 'up');
    } catch (err) {
      await lab.close();
      throw new Error(`cannot build the network-namespace lab (root and iproute2 are needed): ${(err as Error).message}`);
    }
    return lab;
  }

  async addHost(name: string): Promise<Host> {
    const n = this.hosts.length;
    const host: Host = { name, ns: `wpf-${this.id}-${name}`, veth: `wpv${this.id}${n}`, addr: `10.251.${this.net}.${this.nextAddr++}` };
    this.hosts.push(host);
    const peer = `wpp${this.id}${n}`;
    await ip('netns', 'add', host.ns);
    await ip('link', 'add', host.veth, 'type', 'veth', 'peer', 'name', peer);
    await ip('link', 'set', peer, 'netns', host.ns);
    await ip('link', 'set', host.veth, 'master', this.bridge);
    await ip('link', 'set', host.veth, 'up');
    await ip('netns', 'exec', host.ns, 'ip', 'link', 'set', peer, 'name', 'eth0');
    await ip('netns', 'exec', host.ns, 'ip', 'addr', 'add', `${host.addr}/24`, 'dev', 'eth0');
    await ip('netns', 'exec', host.ns, 'ip', 'link', 'set', 'eth0', 'up');
    await ip('netns', 'exec', host.ns, 'ip', 'link', 'set', 'lo', 'up');
    return host;
  }

  /** Start redis-server in a namespace of its own; resolves with its URL (reachable from every host). */
  async startRedis(): Promise<string> {
    const host = await this.addHost('redis');
    this.redisNs = host;
    this.redisProc = spawn('ip', ['netns', 'exec', host.ns, 'redis-server', '--port', '6379', '--bind', host.addr, '--save', '', '--appendonly', 'no', '--protected-mode', 'no'], { stdio: 'ignore' });
    const url = `redis://${host.addr}:6379`;
    await until(async () => {
      const c = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => undefined);
      try {
        await c.connect();
        return (await c.ping()) === 'PONG';
      } finally {
        c.disconnect();
      }
    }, `redis-server to answer at ${url}`, 15_000, 100);
    return url;
  }

  /** A client of the lab's Redis from the test's own (root) namespace, closed with the lab. */
  client(url: string): Redis {
    const c = new Redis(url, { maxRetriesPerRequest: null });
    c.on('error', () => undefined);
    this.clients.push(c);
    return c;
  }

  /** A BullMQ queue on the lab's Redis from the test's own namespace, closed with the lab. */
  queue(url: string, prefix: string, name = 'q'): Queue {
    const q = new Queue(name, { connection: { url, maxRetriesPerRequest: null } as never, prefix });
    this.queues.push(q);
    return q;
  }

  /** Run `worker-pool` inside a host (its own host name), HTTP on the host's address; resolves when it listens. */
  async startDaemon(host: Host, args: string[], timeoutMs = 45_000): Promise<HostDaemon> {
    // ip netns exec, unshare and sh each exec the next: the process is the daemon itself.
    const inHost = ['ip', 'netns', 'exec', host.ns, 'unshare', '--uts', 'sh', '-c', `hostname ${host.name} && exec "$@"`, 'sh', process.execPath, BIN];
    const cli = await startCli([...args, '--metrics-host', host.addr, '--http-insecure', '--metrics-port', '9464'], { command: inHost, timeoutMs });
    const d = Object.assign(cli, { host });
    this.daemons.push(d);
    return d;
  }

  /** Every process in a host's namespace. */
  async pids(host: Host): Promise<number[]> {
    const out = await ip('netns', 'pids', host.ns).catch(() => '');
    return out.split('\n').filter(Boolean).map(Number);
  }

  /** Power off: the host's link goes down and every process in it is SIGKILLed at once. */
  async powerOff(host: Host): Promise<void> {
    await ip('link', 'set', host.veth, 'down');
    for (const pid of await this.pids(host)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  async linkDown(host: Host): Promise<void> {
    await ip('link', 'set', host.veth, 'down');
  }

  async linkUp(host: Host): Promise<void> {
    await ip('link', 'set', host.veth, 'up');
  }

  /** SIGSTOP or SIGCONT every process of a host. */
  async signalAll(host: Host, signal: NodeJS.Signals): Promise<void> {
    for (const pid of await this.pids(host)) {
      try {
        process.kill(pid, signal);
      } catch {
        // gone
      }
    }
  }

  /** Worker children alive (not zombies) among these pids, from /proc: by their entry file or their process title. */
  workerCount(pids: readonly number[]): number {
    let n = 0;
    for (const pid of pids) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
        if (state === 'Z' || state === 'X') continue;
        // From the fork on (dist/worker/main.js), not only once it has set its title.
        if (/^worker-pool \S+ worker-\d+|dist\/worker\/main\.js/.test(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))) n++;
      } catch {
        // gone
      }
    }
    return n;
  }

  /** Children of these parent pids, from /proc (cheap enough to sample every 100 ms). */
  static childrenOf(parents: ReadonlySet<number>): number[] {
    const out: number[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
        const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (parents.has(Number(rest[1]))) out.push(Number(entry));
      } catch {
        // gone
      }
    }
    return out;
  }

  async close(): Promise<void> {
    for (const q of this.queues) await q.close().catch(() => undefined);
    for (const c of this.clients) c.disconnect();
    for (const h of this.hosts) {
      await ip('link', 'set', h.veth, 'up').catch(() => undefined);
      await this.signalAll(h, 'SIGCONT');
      await this.signalAll(h, 'SIGKILL');
    }
    this.redisProc?.kill('SIGKILL');
    for (const d of this.daemons) d.proc.kill('SIGKILL');
    // Give the kernel a moment to reap, then remove the namespaces (their veths go with them).
    for (const h of this.hosts) {
      for (let i = 0; i < 50 && (await this.pids(h)).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      await ip('netns', 'del', h.ns).catch(() => undefined);
      await ip('link', 'del', h.veth).catch(() => undefined);
    }
    await ip('link', 'del', this.bridge).catch(() => undefined);
    void this.redisNs;
  }
}

/** For a test file whose tests each build a lab: returns Lab.open, and registers an afterEach that closes the test's lab. */
export function labPerTest(): () => Promise<Lab> {
  let lab: Lab | undefined;
  afterEach(async () => {
    await lab?.close();
    lab = undefined;
  });
  return async () => (lab = await Lab.open());
}
