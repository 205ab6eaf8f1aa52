/** Run the real `worker-pool` command in a child process and follow its JSON log lines. */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { once } from './wait.js';

export const BIN = fileURLToPath(new URL('../../bin/worker-pool', import.meta.url));

export interface LogLine {
  msg: string;
  [key: string]: unknown;
}

export class CliProcess extends EventEmitter {
  readonly proc: ChildProcess;
  readonly logs: LogLine[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /** `launcher`: a command the daemon is exec'ed from (e.g. a shell that first moves itself into a cgroup). */
  constructor(args: string[], env: NodeJS.ProcessEnv = {}, launcher: string[] = []) {
    super();
    const [command, ...before] = launcher.length > 0 ? [...launcher, process.execPath] : [process.execPath];
    this.proc = spawn(command!, [...before, BIN, ...args], {
      env: { ...process.env, REDIS_URL: undefined, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let buf = '';
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => {
      this.stdout += chunk;
      buf += chunk;
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const parsed = JSON.parse(line) as LogLine;
          this.logs.push(parsed);
          this.emit('log', parsed);
        } catch {
          // not a log line
        }
      }
    });
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (c: string) => (this.stderr += c));
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve({ code, signal })));
  }

  /** The first log line (past or future) that matches. */
  async waitForLog(predicate: (l: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    const seen = this.logs.find(predicate);
    if (seen) return seen;
    const [line] = await once<[LogLine]>(this, 'log', predicate, timeoutMs);
    return line;
  }

  /** The daemon's HTTP base URL, from its start-up log line. */
  async url(): Promise<string> {
    const line = await this.waitForLog((l) => l.msg === 'worker-pool starting');
    return String(line['http']);
  }

  kill(signal: NodeJS.Signals): void {
    this.proc.kill(signal);
  }
}

/** Run the command to completion. */
export async function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new CliProcess(args, env);
  const { code } = await p.exited;
  return { code, stdout: p.stdout, stderr: p.stderr };
}
