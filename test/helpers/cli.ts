/**
 * The real `worker-pool` command in a child process, as users and service managers run it: a clean
 * environment (no WORKER_POOL_* or REDIS_URL of the test run's), its JSON log lines followed, its
 * HTTP address read from its start-up line, stopped by a signal. runCli runs a one-shot command;
 * cliPerFile gives a test file a key prefix and stops its daemons after it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import { readStatus } from './http-request.js';
import { deletePrefix, uniquePrefix } from './redis.js';

export { freePort } from '../../src/redis/embedded.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin/worker-pool');

export interface LogLine {
  msg: string;
  level: number;
  [key: string]: unknown;
}

export interface CliOptions {
  /** Added to the environment, which is this process's without WORKER_POOL_* and REDIS_URL. */
  env?: NodeJS.ProcessEnv;
  /** The environment is `env` alone, nothing of this process's (as a container's or a unit's is). */
  onlyEnv?: boolean;
  /** What runs worker-pool, before `args`: default node and bin/worker-pool; [] when args is a whole command line. */
  command?: string[];
  /** In a process group of its own, as a shell runs a foreground job. */
  detached?: boolean;
  /** Leave its stdout in a pipe nobody reads, as a stuck log reader would (`proc.stdout` is the test's to read later; no log lines are followed). */
  unreadStdout?: boolean;
}

type Exit = { code: number | null; signal: NodeJS.Signals | null };

export class CliProcess extends EventEmitter<{ log: [LogLine] }> {
  readonly proc: ChildProcess;
  /** Its stdout lines that are JSON (log lines), in order. */
  readonly logs: LogLine[] = [];
  stdout = '';
  stderr = '';
  /**
   * Its exit, once its output is read too: its last log lines (a hand-back, the stop) may still be in
   * the pipe when it exits. At most 2 s after the exit, where a process it left behind holds the pipe.
   */
  readonly exited: Promise<Exit>;
  private exit: Exit | undefined;
  /** Its output is all read (it exited and closed its stdout and stderr). */
  private closed = false;

  constructor(args: string[], opts: CliOptions = {}) {
    super();
    const env: NodeJS.ProcessEnv = {};
    if (!opts.onlyEnv) for (const [k, v] of Object.entries(process.env)) if (k !== 'REDIS_URL' && !k.startsWith('WORKER_POOL_')) env[k] = v;
    const [program, ...rest] = [...(opts.command ?? [process.execPath, BIN]), ...args];
    this.proc = spawn(program!, rest, { env: { ...env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: opts.detached ?? false });
    if (!opts.unreadStdout) this.followStdout();
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (c: string) => (this.stderr += c));
    const closed = new Promise<void>((resolve) => this.proc.once('close', () => ((this.closed = true), resolve())));
    this.exited = new Promise((resolve) =>
      this.proc.once('exit', (code, signal) => {
        const exit = (this.exit = { code, signal });
        const grace = setTimeout(() => resolve(exit), 2000);
        void closed.then(() => (clearTimeout(grace), resolve(exit)));
      }),
    );
  }

  /** Keep its stdout, and parse its JSON lines into `logs` (emitting 'log' for each). */
  private followStdout(): void {
    let buf = '';
    this.proc.stdout!.setEncoding('utf8');
    this.proc.stdout!.on('data', (chunk: string) => {
      this.stdout += chunk;
      buf += chunk;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith('{')) continue;
        try {
          const parsed = JSON.parse(line) as LogLine;
          this.logs.push(parsed);
          this.emit('log', parsed);
        } catch {
          // not a log line (a child's own output)
        }
      }
    });
  }

  /** Everything it printed: stdout, then stderr. */
  get output(): string {
    return this.stdout + this.stderr;
  }

  /** The first log line (already seen or to come) with this message, or that `match` accepts; rejects if it exits first. */
  waitForLog(match: string | ((l: LogLine) => boolean), timeoutMs = 30_000): Promise<LogLine> {
    const accepts = typeof match === 'string' ? (l: LogLine) => l.msg === match : match;
    const seen = this.logs.find(accepts);
    if (seen) return Promise.resolve(seen);
    const what = typeof match === 'string' ? `"${match}"` : 'the log line asked for';
    return new Promise((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        this.off('log', onLog);
        this.proc.off('close', onClose);
      };
      const fail = (why: string) => (done(), reject(new Error(`${why} ${what}; its output ends:\n${this.output.slice(-3000)}`)));
      const onLog = (l: LogLine) => accepts(l) && (done(), resolve(l));
      // On 'close', not 'exit': the line may still be in the pipe when the process has exited.
      const onClose = () => fail(`worker-pool exited (${this.exit?.code ?? this.exit?.signal}) before logging`);
      const timer = setTimeout(() => fail(`timed out after ${timeoutMs} ms waiting for`), timeoutMs);
      this.on('log', onLog);
      if (this.closed) onClose();
      else this.proc.once('close', onClose);
    });
  }

  /** Its HTTP base URL, once its start-up line has said it. */
  async listening(timeoutMs = 30_000): Promise<string> {
    return String((await this.waitForLog('worker-pool starting', timeoutMs))['http']);
  }

  /** Its HTTP base URL (from its start-up line, which must have come). */
  get url(): string {
    const line = this.logs.find((l) => l.msg === 'worker-pool starting');
    if (!line) throw new Error('worker-pool has not said where it listens yet (await listening())');
    return String(line['http']);
  }

  /** GET /status of its HTTP endpoints. */
  async status(): ReturnType<typeof readStatus> {
    return readStatus(await this.listening());
  }

  kill(signal: NodeJS.Signals): void {
    this.proc.kill(signal);
  }

  /**
   * SIGTERM (or `signal`) unless it has exited, then its exit code. With `killAfterMs`, SIGKILL if it
   * has not exited by then (a frozen daemon never gets to act on SIGTERM).
   */
  async stop(signal: NodeJS.Signals = 'SIGTERM', killAfterMs?: number): Promise<number | null> {
    if (!this.exit) this.proc.kill(signal);
    const late = killAfterMs === undefined ? undefined : setTimeout(() => this.proc.kill('SIGKILL'), killAfterMs);
    const { code } = await this.exited;
    clearTimeout(late);
    return code;
  }
}

/**
 * Start the daemon with these flags, JSON logs and a free HTTP port (unless the flags name their
 * own), and resolve once it listens. A daemon that exits first is an error with its output.
 */
export async function startCli(args: string[], opts: CliOptions & { timeoutMs?: number } = {}): Promise<CliProcess> {
  const extra = [...(args.includes('--metrics-port') ? [] : ['--metrics-port', '0']), ...(args.includes('--log-format') ? [] : ['--log-format', 'json'])];
  const p = new CliProcess([...args, ...extra], opts);
  try {
    await p.listening(opts.timeoutMs);
  } catch (err) {
    p.kill('SIGKILL');
    throw err;
  }
  return p;
}

/** Run a command to its end (killed after `timeoutMs`, default 60 s: a hang is then a failed exit code). */
export async function runCli(args: string[], opts: CliOptions & { timeoutMs?: number } = {}): Promise<Exit & { stdout: string; stderr: string }> {
  const p = new CliProcess(args, opts);
  const guard = setTimeout(() => p.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  // 'close' comes after the exit once its output is all read.
  await new Promise((resolve) => p.proc.once('close', resolve));
  clearTimeout(guard);
  const exit = await p.exited;
  return { ...exit, stdout: p.stdout, stderr: p.stderr };
}

export interface CliFile {
  /** A key prefix of the file's own, its keys deleted after the file. */
  prefix: string;
  /** startCli, the daemon stopped after the file. */
  start(args: string[], opts?: CliOptions & { timeoutMs?: number }): Promise<CliProcess>;
  /** new CliProcess, stopped after the file. */
  spawn(args: string[], opts?: CliOptions): CliProcess;
}

/**
 * For a test file (or describe block) that runs the daemon as a process: registers an afterAll that
 * stops every process it started that still runs, the last first (SIGTERM; SIGKILL after 15 s, as a
 * frozen daemon never acts on SIGTERM), then deletes the prefix's keys from the run's Redis.
 */
export function cliPerFile(label: string): CliFile {
  const prefix = uniquePrefix(label);
  const started: CliProcess[] = [];
  afterAll(async () => {
    for (const p of started.splice(0).reverse()) await p.stop('SIGTERM', 15_000);
    await deletePrefix(prefix);
  });
  return {
    prefix,
    async start(args, opts) {
      const p = await startCli(args, opts);
      started.push(p);
      return p;
    },
    spawn(args, opts) {
      const p = new CliProcess(args, opts);
      started.push(p);
      return p;
    },
  };
}
