/**
 * One forked worker child as the supervisor sees it: its state (starting → running → draining →
 * exited), its latest sample, the jobs it holds, and the verbs to stop it (drain, hand back, kill).
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { isChildMessage, type ChildMessage, type ParentMessage, type WorkerSettings } from '../ipc/messages.js';

export type WorkerState = 'starting' | 'running' | 'draining' | 'exited';

export type ExitReason = 'crash' | 'failed_start' | 'scale_down' | 'max_jobs' | 'max_memory' | 'job_timeout' | 'shutdown' | 'reload';

export interface HeldJob {
  queue: string;
  id: string;
  name: string;
  token: string;
  startedAt: number;
}

export interface WorkerProcessEvents {
  ready: [];
  message: [ChildMessage];
  exit: [code: number | null, signal: NodeJS.Signals | null];
}

const STDERR_TAIL_LINES = 20;

export class WorkerProcess extends EventEmitter<WorkerProcessEvents> {
  state: WorkerState = 'starting';
  readonly child: ChildProcess;
  readonly forkedAt: number;
  readyAt: number | undefined;
  exitedAt: number | undefined;
  /** Jobs running in the child, as of its latest sample. */
  busySlots = 0;
  processed = 0;
  failed = 0;
  rssBytes = 0;
  lastSampleAt: number | undefined;
  /** The child's clock minus ours, as the smallest delay seen (see childTimeToLocal). */
  private clockOffset = Infinity;
  /** Why it was asked to stop (set when draining starts). */
  stopReason: ExitReason | undefined;
  loadError: string | undefined;
  /**
   * Jobs the supervisor knows this child holds, beyond what its locks in Redis tell (a child sends
   * no message per job: its samples carry counts, so this is empty unless a sample lists them).
   * When it dies, hand-back finds every job it had locked by its token base anyway.
   */
  readonly jobs = new Map<string, HeldJob>();
  /**
   * The start of every lock token the child uses (`${tokenBase}:${n}`), given to it in its start
   * message: when it dies, every job still locked by it is found by this, reported or not.
   */
  readonly tokenBase = randomUUID();
  /** The queues it takes jobs from. */
  readonly queues: readonly string[];
  readonly stderrTail: string[] = [];
  /** Unique per child (slot names are reused). */
  readonly key: string;
  /** Resolves once the child has exited and its IPC channel is drained (every message it sent has arrived). */
  readonly closed: Promise<void>;

  constructor(
    readonly id: string,
    readonly concurrency: number,
    settings: Omit<WorkerSettings, 'tokenBase'>,
    entry: string,
    private readonly now: () => number,
  ) {
    super();
    this.forkedAt = now();
    this.queues = [...settings.queues];
    this.child = fork(entry, [], {
      stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
      serialization: 'json',
      execArgv: [],
    });
    this.key = `${id}#${this.child.pid ?? 'x'}`;
    this.child.stderr?.setEncoding('utf8');
    this.child.stderr?.on('data', (chunk: string) => {
      process.stderr.write(chunk);
      for (const line of chunk.split('\n')) {
        if (line.trim() === '') continue;
        this.stderrTail.push(line);
        if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      }
    });
    this.closed = new Promise((resolve) => this.child.once('close', () => resolve()));
    this.child.on('message', (msg: unknown) => this.onMessage(msg));
    this.child.on('error', () => undefined); // reported through 'exit'
    this.child.once('exit', (code, signal) => {
      this.state = 'exited';
      this.exitedAt = this.now();
      this.emit('exit', code, signal);
      this.busySlots = 0; // after the listeners: they may log what it held
    });
    this.send({ type: 'start', settings: { ...settings, tokenBase: this.tokenBase } });
  }

  /**
   * A time the child measured, on our clock. IPC delivery is delayed by a varying amount on a busy
   * host; stamping samples on receipt would turn that jitter into busy-time errors. The offset
   * between the clocks is estimated as the smallest (receipt − child time) seen so far.
   */
  childTimeToLocal(childAt: number, receivedAt: number): number {
    this.clockOffset = Math.min(this.clockOffset, receivedAt - childAt);
    return Math.min(receivedAt, childAt + this.clockOffset);
  }

  /** When the child became ready, on our clock. */
  readyAtLocal: number | undefined;

  get pid(): number | undefined {
    return this.child.pid;
  }

  get alive(): boolean {
    return this.state !== 'exited';
  }

  private onMessage(msg: unknown): void {
    if (!isChildMessage(msg)) return;
    const now = this.now();
    switch (msg.type) {
      case 'ready':
        if (this.state === 'starting') this.state = 'running';
        this.readyAt = now;
        this.readyAtLocal = this.childTimeToLocal(msg.at, now);
        this.lastSampleAt = now;
        this.emit('ready');
        break;
      case 'sample':
        this.busySlots = msg.busySlots;
        this.processed = msg.processed;
        this.failed = msg.failed;
        this.rssBytes = msg.rssBytes;
        this.lastSampleAt = now;
        break;
      case 'load-error':
        this.loadError = msg.message;
        break;
      case 'job-returned':
        this.jobs.delete(`${msg.queue}:${msg.id}`);
        break;
      case 'warn':
        break;
    }
    this.emit('message', msg);
  }

  send(msg: ParentMessage): void {
    if (this.child.connected) {
      try {
        this.child.send(msg);
      } catch {
        // The child is going away; its exit event follows.
      }
    }
  }

  /** Stop taking jobs; the child exits once its running jobs finish. */
  drain(reason: ExitReason): void {
    if (this.state === 'exited') return;
    this.stopReason ??= reason;
    this.state = 'draining';
    this.send({ type: 'drain', reason });
  }

  /** Shutdown deadline: the child returns its running jobs to their queues and exits. */
  handBack(): void {
    this.send({ type: 'hand-back' });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.state !== 'exited') this.child.kill(signal);
  }

  /** Resolves when the child has exited (at once if it already has). */
  exited(): Promise<void> {
    if (this.state === 'exited') return Promise.resolve();
    return new Promise((resolve) => this.once('exit', () => resolve()));
  }
}
