/**
 * A private redis-server on a free port in a temp dir: for the demo, `--embedded-redis`, and tests
 * that must stop or restart Redis. Says how to install redis-server when it is missing.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export class RedisMissingError extends Error {
  override readonly name = 'RedisMissingError';
}

export interface EmbeddedRedis {
  url: string;
  port: number;
  dir: string;
  pid: number | undefined;
  /** Stop the server (SIGTERM, then SIGKILL) and, unless `keepDir`, delete its directory. */
  stop(opts?: { keepDir?: boolean }): Promise<void>;
  /** Start it again on the same port and directory (after stop({ keepDir: true })). */
  restart(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export function redisServerPath(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const p = found.stdout.trim();
  return found.status === 0 && p ? p : undefined;
}

function waitForPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const attempt = () => {
      if (child.exitCode !== null) return reject(new Error(`redis-server exited with code ${child.exitCode} before listening on ${port}`));
      const sock = net.connect(port, '127.0.0.1');
      sock.once('connect', () => {
        sock.destroy();
        resolve();
      });
      sock.once('error', () => {
        sock.destroy();
        if (Date.now() - started > timeoutMs) reject(new Error(`redis-server did not listen on ${port} within ${timeoutMs} ms`));
        else setTimeout(attempt, 20);
      });
    };
    attempt();
  });
}

export interface EmbeddedRedisOptions {
  /** Keep an append-only file (to test restarts that keep data). */
  appendOnly?: boolean;
}

export async function startEmbeddedRedis(opts: EmbeddedRedisOptions = {}): Promise<EmbeddedRedis> {
  const bin = redisServerPath();
  if (!bin) {
    throw new RedisMissingError('redis-server was not found on PATH; install it (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) or pass --redis-url');
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'worker-pool-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;
  const launch = async () => {
    const settings: Record<string, string> = {
      port: String(port),
      bind: '127.0.0.1',
      dir,
      save: '',
      appendonly: opts.appendOnly ? 'yes' : 'no',
      daemonize: 'no',
      loglevel: 'warning',
      logfile: path.join(dir, 'redis.log'),
    };
    const args = Object.entries(settings).flatMap(([key, value]) => [`--${key}`, value]);
    child = spawn(bin, args, { stdio: 'ignore' });
    await waitForPort(port, child, 10_000);
  };
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await launch();
      break;
    } catch (err) {
      child?.kill('SIGKILL');
      if (attempt >= 4) throw err;
    }
  }
  const stopServer = async () => {
    const c = child;
    if (!c || c.exitCode !== null || c.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => c.once('exit', () => resolve()));
    c.kill('SIGTERM');
    const t = setTimeout(() => c.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  };
  const cleanupOnExit = () => child?.kill('SIGKILL');
  process.once('exit', cleanupOnExit);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid() {
      return child?.pid;
    },
    async stop({ keepDir = false } = {}) {
      await stopServer();
      if (!keepDir) {
        process.off('exit', cleanupOnExit);
        rmSync(dir, { recursive: true, force: true });
      }
    },
    async restart() {
      await stopServer();
      await launch();
    },
  };
}
