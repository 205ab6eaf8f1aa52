/** Run `worker-pool` (the real CLI, as a service manager would) and follow its JSON log lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { once } from './wait.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/worker-pool');

export interface LogLine {
  msg: string;
  level: number;
  [key: string]: unknown;
}

export class RunningDaemon extends EventEmitter {
  readonly lines: LogLine[] = [];
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(readonly child: ChildProcess) {
    super();
    let buf = '';
    child.stdout!.setEncoding('utf8');
    child.stdout!.on('data', (chunk: string) => {
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const text = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const line = JSON.parse(text) as LogLine;
          this.lines.push(line);
          this.emit('line', line);
        } catch {
          // not a log line
        }
      }
    });
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** The first log line (already seen or to come) with this message and matching fields. */
  async waitFor(msg: string, match: (l: LogLine) => boolean = () => true, timeoutMs = 30_000): Promise<LogLine> {
    const seen = this.lines.find((l) => l.msg === msg && match(l));
    if (seen) return seen;
    const [line] = await once<[LogLine]>(this, 'line', (l) => l.msg === msg && match(l), timeoutMs);
    return line;
  }

  async status(url: string): Promise<Record<string, any>> {
    const res = await fetch(`${url}/status`);
    return (await res.json()) as Record<string, any>;
  }
}

/** Spawn a command line (argv[0] is the program), JSON logs on stdout. */
export function spawnDaemon(argv: string[], env: NodeJS.ProcessEnv = {}): RunningDaemon {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WORKER_POOL_')));
  const child = spawn(argv[0]!, argv.slice(1), { env: { ...clean, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  return new RunningDaemon(child);
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}
