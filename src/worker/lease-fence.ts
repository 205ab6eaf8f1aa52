/**
 * The fleet's fence, where the work runs: a worker child holds its supervisor's lease deadline (the
 * host's monotonic clock, shared by every process of the host) and, once it passes with no newer
 * one, takes no more jobs and ends itself and everything its jobs started, before any peer can be
 * given its slot or hand its jobs back. Whatever stopped the renewals (the supervisor paused, cut
 * off from Redis, gone), the work stops; a processor that ignores its AbortSignal is no exception.
 *
 * Two clocks watch the deadline: a timer on the child's event loop, which exits with
 * FENCED_EXIT_CODE, and a watchdog thread of its own, which SIGKILLs the child's process group
 * when a job keeps the event loop blocked past the deadline. Newer deadlines reach the event loop
 * by IPC, and the thread through the lease file the supervisor rewrites at each renewal (a blocked
 * loop reads no IPC; a healthy supervisor must not have its blocked children killed).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { hostMonotonicMs } from '../clock.js';
import { FENCED_EXIT_CODE } from '../ipc/messages.js';
import type { Logger } from '../logger.js';
import type { ChildState } from './child-state.js';

/** How much later than the event loop's timer the watchdog thread acts (so the loop can exit with its code). */
const WATCHDOG_LATER_MS = 50;

/** The watchdog thread: sleeps on the shared deadline; past it (and past the lease file's), kills the process group. */
const WATCHDOG = `
const { workerData } = require('node:worker_threads');
const { readFileSync } = require('node:fs');
const deadline = new BigInt64Array(workerData.shared, 0, 1);
const seq = new Int32Array(workerData.shared, 8, 1);
const now = () => Number(process.hrtime.bigint()) / 1e6;
const fromFile = () => {
  try { const v = Number(readFileSync(workerData.file, 'utf8')); return Number.isFinite(v) ? v : -Infinity; } catch { return -Infinity; }
};
let until = -Infinity;
for (;;) {
  const s = Atomics.load(seq, 0);
  until = Math.max(until, Number(Atomics.load(deadline, 0)) / 1000);
  let left = until + ${WATCHDOG_LATER_MS} - now();
  if (left <= 0 && workerData.file) { until = Math.max(until, fromFile()); left = until + ${WATCHDOG_LATER_MS} - now(); }
  if (left <= 0) {
    try { process.kill(-process.pid, 'SIGKILL'); } catch { process.kill(process.pid, 'SIGKILL'); }
  }
  Atomics.wait(seq, 0, s, Math.max(1, left));
}
`;

/** The deadline a lease file holds (host monotonic ms), or -Infinity when it cannot be read. */
export function readLeaseFile(file: string): number {
  try {
    const v = Number(readFileSync(file, 'utf8'));
    return Number.isFinite(v) ? v : -Infinity;
  } catch {
    return -Infinity;
  }
}

/** SIGKILL every other process of this process's group (what its jobs started), from /proc. */
export function killOwnGroup(): void {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return;
  }
  for (const e of entries) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, 'utf8');
      const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (pgrp === process.pid) process.kill(Number(e), 'SIGKILL');
    } catch {
      // gone, or not ours to read
    }
  }
}

export class LeaseFence {
  private until: number;
  private timer: NodeJS.Timeout | undefined;
  private readonly shared = new SharedArrayBuffer(16);
  private watchdog: Worker | undefined;
  private expired = false;

  /**
   * `until`: the first deadline (host monotonic ms), undefined without a fleet lease (no fence);
   * `file`: the supervisor's lease file; `child`: its log, its exit, and its state (which takes no
   * job once the lease no longer holds). Watches the deadline on the event loop from now on.
   */
  constructor(
    until: number | undefined,
    private readonly file: string | undefined,
    private readonly child: { log: Logger; exit: (code: number) => void; state: ChildState },
  ) {
    this.until = until ?? Infinity;
    if (!this.enabled) return;
    child.state.lease = this;
    this.publish();
    this.schedule();
  }

  get enabled(): boolean {
    return this.until !== Infinity;
  }

  /** Whether the child may take a job now. */
  holds(): boolean {
    return !this.expired && hostMonotonicMs() < this.until;
  }

  /**
   * Start the watchdog thread, once the child is about to take jobs (a child whose processor will
   * not load never needs one). It boots on a thread of its own, even if a job blocks the loop at once.
   */
  watchBlockedLoop(): void {
    if (!this.enabled || this.watchdog) return;
    this.watchdog = new Worker(WATCHDOG, { eval: true, workerData: { shared: this.shared, file: this.file ?? '' }, stdout: true, stderr: true });
    this.watchdog.unref();
    this.watchdog.on('error', () => undefined);
  }

  /** A renewal went through: the lease holds until `until`. */
  extend(until: number): void {
    if (!this.enabled || this.expired || until <= this.until) return;
    this.until = until;
    this.publish();
    this.schedule();
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    void this.watchdog?.terminate();
  }

  private publish(): void {
    Atomics.store(new BigInt64Array(this.shared, 0, 1), 0, BigInt(Math.round(this.until * 1000)));
    const seq = new Int32Array(this.shared, 8, 1);
    Atomics.add(seq, 0, 1);
    Atomics.notify(seq, 0);
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => this.check(), Math.max(1, this.until - hostMonotonicMs()));
    this.timer.unref();
  }

  private check(): void {
    if (this.expired) return;
    // A renewal may be waiting behind this timer on a busy loop: the lease file, then the IPC
    // messages already received (read in the poll phase, before setImmediate runs), may extend it.
    if (this.file) this.extend(readLeaseFile(this.file));
    if (hostMonotonicMs() < this.until) return;
    setImmediate(() => {
      if (this.expired || hostMonotonicMs() < this.until) return;
      this.expired = true;
      this.fenced();
    });
  }

  /**
   * The lease ran out with no renewal (the supervisor paused, cut off or gone): peers may soon take
   * this worker's slot and hand its jobs back. Take nothing more, end everything its jobs started,
   * and exit now: its running jobs end with it and are handed back by whoever gets there first (its
   * supervisor when it can, else the peer that claims its registration).
   */
  private fenced(): void {
    const { child } = this;
    child.state.draining = true;
    child.log.warn({ running: child.state.running.size }, 'fleet lease not renewed in time (supervisor paused, cut off or gone): this worker stops, and its running jobs with it');
    killOwnGroup();
    child.exit(FENCED_EXIT_CODE);
  }
}
