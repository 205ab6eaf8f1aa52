/**
 * One forked worker child as the supervisor sees it: its state (starting → running → draining →
 * exited), its latest sample, the jobs it holds, and the verbs to stop it (drain, hand back, kill).
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { childEnvironment } from '../secrets.js';
import { isChildMessage, type ChildMessage, type JobDeadline, type ParentMessage, type WorkerSettings } from '../ipc/messages.js';
import { ChildOutput } from './child-output.js';
import { ReportedJobs } from './reported-jobs.js';

export type WorkerState = 'starting' | 'running' | 'draining' | 'exited';

export type ExitReason = 'crash' | 'failed_start' | 'scale_down' | 'max_jobs' | 'max_memory' | 'job_timeout' | 'shutdown' | 'reload' | 'fenced' | 'stuck' | 'stopped';

export type { HeldJob } from './reported-jobs.js';

export interface WorkerProcessEvents {
  ready: [];
  message: [ChildMessage];
  exit: [code: number | null, signal: NodeJS.Signals | null];
}

/**
 * The process behind a WorkerProcess, as far as it uses one: a child forked from the worker entry
 * (forkWorkerChild), or anything else that speaks the same messages (the simulator's children).
 */
export interface WorkerChild {
  readonly pid?: number | undefined;
  readonly connected: boolean;
  readonly stdout: Readable | null;
  readonly stderr: Readable | null;
  send(msg: ParentMessage): unknown;
  kill(signal?: NodeJS.Signals): unknown;
  on(event: 'message', listener: (msg: unknown) => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  once(event: 'exit', listener: (code: number | null, signal: NodeJS.Signals | null) => void): unknown;
  once(event: 'close', listener: () => void): unknown;
}

/** How a worker child is started: forked from `entry` (forkWorkerChild), unless told otherwise. */
export type StartWorkerChild = (entry: string) => WorkerChild;

export function forkWorkerChild(entry: string): WorkerChild {
  return fork(entry, [], {
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
    execArgv: [],
    // Settings travel over IPC; the pool's variables (a Redis URL with its password) stay here.
    env: childEnvironment(process.env),
    // Its own process group, so that what its jobs spawn can be ended with it (endGroup). It
    // still exits when we die (IPC disconnect), and a terminal's Ctrl-C reaches only us: we drain it.
    detached: true,
  });
}

/** Keys of children without a pid (not forked, or the fork failed), so that each is still unique. */
let keysWithoutPid = 0;

const STDERR_TAIL_LINES = 20;
const STDERR_TAIL_BYTES = 16 * 1024;
/** After the child ends, what its jobs started gets SIGTERM, then SIGKILL this much later. */
const GROUP_KILL_GRACE_MS = 2000;

/** Send a signal to every process of a process group; false when none is left. */
function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

export class WorkerProcess extends EventEmitter<WorkerProcessEvents> {
  state: WorkerState = 'starting';
  readonly child: WorkerChild;
  readonly forkedAt: number;
  readyAt: number | undefined;
  exitedAt: number | undefined;
  /** Jobs running in the child, as of its latest sample. */
  busySlots = 0;
  processed = 0;
  failed = 0;
  rssBytes = 0;
  lastSampleAt: number | undefined;
  /** Its running jobs that have a time limit, as of its last sample, with `at` on our clock. */
  deadlines: JobDeadline[] = [];
  /** The child's clock minus ours, as the smallest delay seen (see childTimeToLocal). */
  private clockOffset = Infinity;
  /** Until when the fleet lease it was last told of holds (host monotonic ms); undefined without a fleet. */
  leaseUntil: number | undefined;
  /** Why it was asked to stop (set when draining starts). */
  stopReason: ExitReason | undefined;
  loadError: string | undefined;
  /** The jobs the child runs, as of its latest sample. */
  readonly reported: ReportedJobs;
  /**
   * The start of every lock token the child uses (`${tokenBase}:${n}`), given to it in its start
   * message: when it dies, every job still locked by it is found by this, reported or not. It starts
   * with the fleet registration's prefix (`e${epoch}/`), so a peer finds a dead host's jobs too.
   */
  readonly tokenBase: string;
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
    tokenPrefix = '',
    startChild: StartWorkerChild = forkWorkerChild,
  ) {
    super();
    this.tokenBase = `${tokenPrefix}${randomUUID()}`;
    this.forkedAt = now();
    this.queues = [...settings.queues];
    this.reported = new ReportedJobs(this.queues, this.tokenBase);
    // Its stdout and stderr come here, line by line, and leave as log events (child-output.ts).
    this.child = startChild(entry);
    this.key = `${id}#${this.child.pid ?? `x${++keysWithoutPid}`}`;
    const output = new ChildOutput({ pool: settings.pool, worker: id, pid: this.child.pid, pretty: settings.logPretty });
    this.child.stdout?.on('data', (chunk: Buffer) => output.stdout.push(chunk));
    this.child.stderr?.on('data', (chunk: Buffer) => {
      output.stderr.push(chunk);
      // Only the end of a big chunk can reach the tail.
      const tail = chunk.subarray(Math.max(0, chunk.length - STDERR_TAIL_BYTES)).toString('utf8');
      for (const line of tail.split('\n')) {
        if (line.trim() === '') continue;
        this.stderrTail.push(line);
        if (this.stderrTail.length > STDERR_TAIL_LINES) this.stderrTail.shift();
      }
    });
    this.closed = new Promise((resolve) => this.child.once('close', () => (output.end(), resolve())));
    this.child.on('message', (msg: unknown) => this.onMessage(msg));
    this.child.on('error', () => undefined); // reported through 'exit'
    this.child.once('exit', (code, signal) => {
      this.endGroup();
      this.state = 'exited';
      this.exitedAt = this.now();
      this.emit('exit', code, signal);
      this.busySlots = 0; // after the listeners: they may log what it held
    });
    this.leaseUntil = settings.leaseUntil;
    // The child logs JSON always: its lines are told from other output by that, and made pretty here.
    this.send({ type: 'start', settings: { ...settings, logPretty: false, tokenBase: this.tokenBase } });
  }

  /** The fleet lease was renewed: tell the child (it stops itself when its deadline passes without one). */
  extendLease(until: number): void {
    if (this.state === 'exited' || (this.leaseUntil !== undefined && until <= this.leaseUntil)) return;
    this.leaseUntil = until;
    this.send({ type: 'lease', until });
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
        if (msg.running) this.reported.update(msg.running, msg.tokenSeq, now);
        if (msg.deadlines || this.deadlines.length > 0) {
          const local = this.childTimeToLocal(msg.at, now);
          this.deadlines = (msg.deadlines ?? []).map((d) => ({ ...d, at: local + (d.at - msg.at) }));
        }
        break;
      case 'load-error':
        this.loadError = msg.message;
        break;
      case 'job-returned':
        this.reported.remove(msg.queue, msg.id);
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

  private listNonce = 0;

  /**
   * The jobs (`${queue}:${id}`) the child runs now, as it answers; undefined when it does not
   * answer within `timeoutMs` (busy, frozen, gone). Asked rarely (after a failover), never per job.
   */
  listRunning(timeoutMs = 1000): Promise<Set<string> | undefined> {
    if (!this.child.connected) return Promise.resolve(undefined);
    const nonce = ++this.listNonce;
    return new Promise((resolve) => {
      const timer = setTimeout(() => (this.off('message', on), resolve(undefined)), timeoutMs);
      const on = (m: ChildMessage) => {
        if (m.type !== 'running' || m.nonce !== nonce) return;
        clearTimeout(timer);
        this.off('message', on);
        resolve(new Set(m.jobs));
      };
      this.on('message', on);
      this.send({ type: 'list-running', nonce });
    });
  }

  /** Shutdown deadline: the child returns its running jobs to their queues and exits. */
  handBack(): void {
    this.send({ type: 'hand-back' });
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    if (this.state === 'exited') return;
    // SIGKILL takes what its jobs spawned with it; a gentler signal is the child's to handle.
    if (signal === 'SIGKILL' && this.child.pid !== undefined && signalGroup(this.child.pid, 'SIGKILL')) return;
    this.child.kill(signal);
  }

  /**
   * The child has ended: end the processes its jobs left in its group (a `sleep 600` would
   * otherwise live on with PPID 1), SIGTERM first, SIGKILL after a grace period.
   */
  private endGroup(): void {
    const pgid = this.child.pid;
    if (pgid === undefined || !signalGroup(pgid, 'SIGTERM')) return;
    setTimeout(() => {
      if (signalGroup(pgid, 0)) signalGroup(pgid, 'SIGKILL');
    }, GROUP_KILL_GRACE_MS).unref();
  }

  /** Resolves when the child has exited (at once if it already has). */
  exited(): Promise<void> {
    if (this.state === 'exited') return Promise.resolve();
    return new Promise((resolve) => this.once('exit', () => resolve()));
  }
}
