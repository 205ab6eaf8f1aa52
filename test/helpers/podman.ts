/**
 * podman for the container tests: every call goes through the project's containers.conf (runc, no
 * default ulimits: scripts/podman/containers.conf), the image is the one `npm run image` builds,
 * and each container has a unique name and is removed by that name. containerPools gives a test
 * file its pools in containers, on a Redis of its own outside them.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { freePort, startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { fixture } from './pool.js';
import { queue as openQueue, uniquePrefix } from './redis.js';
import { until } from './wait.js';

/** The image `npm run image` tags: WP_IMAGE names another (scripts/image.sh reads the same). */
export const IMAGE = process.env['WP_IMAGE'] ?? 'localhost/bullmq-worker-pool:dev';
export const CONTAINERS_CONF = path.resolve('scripts/podman/containers.conf');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to its end (with a deadline), collecting its output. */
function run(cmd: string, args: readonly string[], env: NodeJS.ProcessEnv, timeoutMs: number, onOutput?: (chunk: string) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => ((stdout += d), onOutput?.(d)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => ((stderr += d), onOutput?.(d)));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${cmd} ${args.join(' ')}: no end within ${timeoutMs} ms\n${stdout}${stderr}`));
    }, timeoutMs);
    child.once('error', (err) => (clearTimeout(timer), reject(new Error(`${cmd} could not run (${err.message}); \`npm run image\` installs podman as root`))));
    child.once('close', (code) => (clearTimeout(timer), resolve({ code, stdout, stderr })));
  });
}

/** podman ARGS with the project's containers.conf. */
export function podman(args: readonly string[], timeoutMs = 60_000): Promise<Run> {
  return run('podman', args, { ...process.env, CONTAINERS_CONF }, timeoutMs);
}

/** The same, failing with podman's own words unless it exits 0. */
export async function podmanOk(args: readonly string[], timeoutMs = 60_000): Promise<string> {
  const r = await podman(args, timeoutMs);
  if (r.code !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/**
 * `npm run image` (scripts/image.sh): makes the base once, then the image from this checkout
 * (layers cached: seconds when nothing changed). Returns how long it took.
 */
export async function buildImage(): Promise<{ seconds: number; output: string }> {
  const started = Date.now();
  const r = await run('bash', [path.resolve('scripts/image.sh')], { ...process.env }, 20 * 60_000);
  const output = r.stdout + r.stderr;
  if (r.code !== 0) throw new Error(`npm run image exited ${r.code}:\n${output.split('\n').slice(-40).join('\n')}`);
  return { seconds: (Date.now() - started) / 1000, output };
}

export interface ContainerOptions {
  /** podman run options before the image (volumes, env, limits). --network host is always given. */
  options?: string[];
  /** Arguments after the image (the CLI's, unless --entrypoint is among the options). */
  args?: string[];
  env?: Record<string, string>;
  /** Files to mount read-only: host path → path in the container. */
  mounts?: Record<string, string>;
}

/** A container started in the background (`podman run -d --network host`), with a unique name. */
export class Container {
  private constructor(readonly name: string) {}

  static async start(o: ContainerOptions = {}): Promise<Container> {
    const name = `wp-test-${randomBytes(4).toString('hex')}`;
    const args = ['run', '-d', '--name', name, '--network', 'host', '--no-healthcheck'];
    for (const [k, v] of Object.entries(o.env ?? {})) args.push('--env', `${k}=${v}`);
    for (const [host, inside] of Object.entries(o.mounts ?? {})) args.push('--volume', `${host}:${inside}:ro`);
    args.push(...(o.options ?? []), IMAGE, ...(o.args ?? []));
    await podmanOk(args);
    return new Container(name);
  }

  /** A command inside the running container, as its user. */
  exec(cmd: readonly string[]): Promise<Run> {
    return podman(['exec', this.name, ...cmd]);
  }

  /** `podman stop -t SECONDS`: SIGTERM (the image's STOPSIGNAL), SIGKILL after SECONDS. */
  async stop(seconds: number): Promise<void> {
    await podmanOk(['stop', '-t', String(seconds), this.name], (seconds + 30) * 1000);
  }

  /** Waits for the container to end; its exit code. */
  async wait(timeoutMs = 60_000): Promise<number> {
    return Number((await podmanOk(['wait', this.name], timeoutMs)).trim());
  }

  async state(): Promise<{ running: boolean; exitCode: number; oomKilled: boolean }> {
    const out = await podmanOk(['inspect', '--format', '{{.State.Running}} {{.State.ExitCode}} {{.State.OOMKilled}}', this.name]);
    const [running, code, oom] = out.trim().split(' ');
    return { running: running === 'true', exitCode: Number(code), oomKilled: oom === 'true' };
  }

  async logs(): Promise<string> {
    const r = await podman(['logs', this.name]);
    return r.stdout + r.stderr;
  }

  /** Every process in the container's PID namespace: pid, command name and state (R, S, Z, …), from /proc. */
  async processes(): Promise<Array<{ pid: number; comm: string; state: string }>> {
    // One shell reads every stat file; a process that ends meanwhile is skipped.
    const r = await this.exec(['sh', '-c', 'for f in /proc/[0-9]*/stat; do cat "$f" 2>/dev/null; echo; done']);
    if (r.code !== 0) throw new Error(`reading /proc in ${this.name} failed: ${r.stderr}`);
    return r.stdout
      .split('\n')
      .map((line) => /^(\d+) \((.*)\) (\S)/.exec(line))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => ({ pid: Number(m[1]), comm: m[2]!, state: m[3]! }));
  }

  /**
   * The memory and CPU limits of the container's own cgroup, as a process inside reads them:
   * cgroup v1 (memory.limit_in_bytes, cpu.cfs_quota_us / cpu.cfs_period_us: this machine kind)
   * or v2 (memory.max, cpu.max). Read as the container's user, as the daemon reads them.
   */
  async cgroupLimits(): Promise<{ form: 'v1' | 'v2'; memoryBytes: number | undefined; cpuCores: number | undefined }> {
    const read = async (file: string) => {
      const r = await this.exec(['cat', file]);
      return r.code === 0 ? r.stdout.trim() : undefined;
    };
    const v2 = await read('/sys/fs/cgroup/memory.max');
    if (v2 !== undefined) {
      const [quota, period] = ((await read('/sys/fs/cgroup/cpu.max')) ?? 'max 100000').split(' ');
      return { form: 'v2', memoryBytes: v2 === 'max' ? undefined : Number(v2), cpuCores: quota === 'max' ? undefined : Number(quota) / Number(period) };
    }
    const mem = Number(await read('/sys/fs/cgroup/memory/memory.limit_in_bytes'));
    const quota = Number(await read('/sys/fs/cgroup/cpu/cpu.cfs_quota_us'));
    const period = Number(await read('/sys/fs/cgroup/cpu/cpu.cfs_period_us'));
    // v1 says "no limit" with a huge number (PAGE_COUNTER_MAX pages) and a quota of -1.
    return { form: 'v1', memoryBytes: mem >= 2 ** 62 ? undefined : mem, cpuCores: quota > 0 ? quota / period : undefined };
  }

  async remove(): Promise<void> {
    await podman(['rm', '--force', '--time', '0', this.name]);
  }
}

/** A pool in a container from the image: its container, HTTP port, key prefix and its queue q on the file's Redis. */
export interface ContainerPool {
  container: Container;
  port: number;
  prefix: string;
  queue: Queue;
}

export interface ContainerPoolOptions {
  /** podman run options (before the image). */
  options?: string[];
  /** Arguments before the pool's own (after an --entrypoint among the options). */
  args?: string[];
  /** Its key prefix (default a fresh one): a second container on the first one's jobs. */
  prefix?: string;
}

export interface ContainerPools {
  /** The file's Redis, outside the containers, which they reach over the host's network (--network host). */
  readonly redis: EmbeddedRedis;
  /** A client on it. */
  readonly db: Redis;
  /** A pool in a container on queue q, its processor the fixture mounted as /app/jobs/NAME; resolves once /readyz says ready. */
  start(processor: string, flags?: string[], o?: ContainerPoolOptions): Promise<ContainerPool>;
}

/**
 * For a container test file: before its tests, `npm run image` and a Redis of its own; after each
 * test, `beforeCleanup` (e.g. wake a stopped Redis), then its containers removed and its queues
 * closed; after all, the Redis stopped. `jobs`: the fixtures mounted at /app/jobs (beside the
 * image's node_modules, so that they may import ioredis).
 */
export function containerPools(label: string, jobs: string[], beforeCleanup: (pools: ContainerPools) => void = () => undefined): ContainerPools {
  let redis: EmbeddedRedis | undefined;
  let db: Redis | undefined;
  const containers: Container[] = [];
  const queues: Queue[] = [];
  const mounts = Object.fromEntries(jobs.map((name) => [fixture(name), `/app/jobs/${name}`]));
  const pools: ContainerPools = {
    get redis() {
      if (!redis) throw new Error("the file's Redis is not started yet (containerPools starts it in beforeAll)");
      return redis;
    },
    get db() {
      if (!db) throw new Error("the file's Redis is not started yet (containerPools starts it in beforeAll)");
      return db;
    },
    async start(processor, flags = [], o = {}) {
      const port = await freePort();
      const prefix = o.prefix ?? uniquePrefix(label);
      const container = await Container.start({
        env: { WORKER_POOL_REDIS_URL: pools.redis.url, WORKER_POOL_METRICS_PORT: String(port) },
        mounts,
        options: o.options ?? [],
        args: [...(o.args ?? []), '--queues', 'q', '--processor', `/app/jobs/${processor}`, '--prefix', prefix, ...flags],
      });
      containers.push(container);
      const queue = openQueue('q', prefix, pools.redis.url);
      queues.push(queue);
      let exited: { exitCode: number } | undefined;
      await until(
        async () => {
          const s = await container.state();
          if (!s.running) return (exited = s);
          return (await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined))?.status === 200;
        },
        'the pool in the container to be ready',
        60_000,
        100,
      );
      if (exited) throw new Error(`the container exited ${exited.exitCode}:\n${await container.logs()}`);
      return { container, port, prefix, queue };
    },
  };
  beforeAll(async () => {
    const built = await buildImage();
    console.log(`npm run image: ${built.seconds.toFixed(1)} s`);
    redis = await startEmbeddedRedis();
    db = new Redis(redis.url);
  }, 20 * 60_000);
  afterEach(async () => {
    if (redis) beforeCleanup(pools);
    for (const c of containers.splice(0)) await c.remove();
    for (const q of queues.splice(0)) await q.close();
  });
  afterAll(async () => {
    db?.disconnect();
    await redis?.stop();
  });
  return pools;
}
