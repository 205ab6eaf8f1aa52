/**
 * The supervisor owns the worker children. It keeps `desired` slots filled (forking, restarting
 * with back-off, marking a slot fatal when its child keeps failing to start), drains the idlest
 * worker when asked for fewer, feeds the usage window, and stops everything with a deadline.
 * It decides nothing about scale: the control loop sets `desired`.
 */
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import { hostMonotonicMs, type Clock } from '../clock.js';
import { FENCED_EXIT_CODE, type ChildMessage, type WorkerSettings } from '../ipc/messages.js';
import type { Logger } from '../logger.js';
import { DEFAULT_BACKOFF, planRestart, type BackoffOptions } from '../policy/backoff.js';
import { UsageWindow } from '../policy/usage-window.js';
import { settledWithin } from '../timing.js';
import { WorkerProcess, type ExitReason, type StartWorkerChild } from './worker-process.js';

/** The compiled child entry; src/ and dist/ sit at the same depth, so this works from either. */
export const WORKER_ENTRY = fileURLToPath(new URL('../../dist/worker/main.js', import.meta.url));

/** Slot names in numeric order (worker-2 before worker-10); one collator, not one per comparison. */
const byName = new Intl.Collator(undefined, { numeric: true }).compare;

/** The end of the stop timeout kept for handing running jobs back and killing (at most). */
const STOP_RESERVE_MS = 3000;

export interface SupervisorOptions {
  /** Settings for every child, less its id. */
  settings: Omit<WorkerSettings, 'workerId' | 'tokenBase'>;
  windowMs: number;
  clock: Clock;
  log: Logger;
  backoff?: BackoffOptions;
  workerEntry?: string;
  /** How each child is started; default: forked from `workerEntry` (the simulator starts simulated ones). */
  startChild?: StartWorkerChild;
  maxJobsPerWorker?: number;
  maxMemoryMb?: number;
  /**
   * The start of each new child's token base (the fleet registration's `e${epoch}/`), so a peer can
   * find a dead host's jobs by it; '' or absent: a bare unique id.
   */
  tokenPrefix?: () => string;
  /** Whether another child may be forked now (the fleet cap has a slot, the lease is held); default yes. */
  admit?: () => boolean;
  /**
   * The fleet lease each new child starts with (host monotonic ms, see hostMonotonicMs) and the file
   * that carries newer ones (LeaseFile); absent: no fleet lease, children run until told to stop.
   */
  lease?: { until: () => number; file: string };
}

export interface Slot {
  name: string;
  worker: WorkerProcess | undefined;
  failedStarts: number;
  restartAt: number;
  fatalUntil: number | undefined;
  lastError: string | undefined;
}

export interface WorkerExit {
  worker: WorkerProcess;
  reason: ExitReason;
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface SupervisorEvents {
  'worker-started': [WorkerProcess];
  'worker-ready': [WorkerProcess];
  'worker-draining': [WorkerProcess, ExitReason];
  'worker-exit': [WorkerExit];
  'worker-message': [WorkerProcess, ChildMessage];
  'slot-fatal': [Slot];
}

export class Supervisor extends EventEmitter<SupervisorEvents> {
  readonly usage: UsageWindow;
  private readonly slots = new Map<string, Slot>();
  private readonly draining = new Set<WorkerProcess>();
  private desiredCount = 0;
  /** When the pool's capacity last changed (a worker ready, a drain begun, a death); monotonic ms. */
  lastResizeAt = -Infinity;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly backoff: BackoffOptions;
  private readonly entry: string;
  /** Bumped by updateSettings; each child remembers the version it was forked with. */
  private settingsVersion = 0;
  private readonly versionOf = new WeakMap<WorkerProcess, number>();

  constructor(private readonly opts: SupervisorOptions) {
    super();
    this.usage = new UsageWindow(opts.windowMs);
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.entry = opts.workerEntry ?? WORKER_ENTRY;
  }

  get desired(): number {
    return this.desiredCount;
  }

  get settings(): Omit<WorkerSettings, 'workerId' | 'tokenBase'> {
    return this.opts.settings;
  }

  /**
   * Settings for children forked from now on (a reload). Children already running keep theirs
   * until they are replaced: see outdated() and retire().
   */
  updateSettings(settings: Omit<WorkerSettings, 'workerId' | 'tokenBase'>, recycle: { maxJobsPerWorker?: number; maxMemoryMb?: number } = {}): void {
    this.opts.settings = settings;
    this.opts.maxJobsPerWorker = recycle.maxJobsPerWorker;
    this.opts.maxMemoryMb = recycle.maxMemoryMb;
    this.settingsVersion++;
  }

  /** Workers in slots (not draining) forked with settings older than the current ones. */
  outdated(): WorkerProcess[] {
    return this.workers().filter((w) => this.slots.get(w.id)?.worker === w && this.versionOf.get(w) !== this.settingsVersion);
  }

  /** Every live child: those in slots and those draining. */
  workers(): WorkerProcess[] {
    const out: WorkerProcess[] = [];
    for (const slot of this.slots.values()) if (slot.worker) out.push(slot.worker);
    out.push(...this.draining);
    return out.sort((a, b) => byName(a.id, b.id) || a.forkedAt - b.forkedAt);
  }

  slotList(): Slot[] {
    return [...this.slots.values()];
  }

  /** Children that count toward the pool's size: starting or running, not draining. */
  activeCount(): number {
    let n = 0;
    for (const slot of this.slots.values()) if (slot.worker && slot.worker.state !== 'draining') n++;
    return n;
  }

  /**
   * Children taking jobs now. Includes a retired worker that still works while its successor
   * starts (it left its slot but is not draining yet), so a reload or a recycle never looks
   * like a pool below min-workers.
   */
  runningCount(): number {
    let n = 0;
    for (const w of this.workers()) if (w.state === 'running') n++;
    return n;
  }

  fatalCount(): number {
    let n = 0;
    for (const slot of this.slots.values()) if (slot.fatalUntil !== undefined) n++;
    return n;
  }

  /** Utilization over the whole window (what /status and /metrics show). */
  utilization(): number | null {
    const now = this.opts.clock.now();
    this.usage.prune(now);
    return this.usage.utilization(now);
  }

  /** Utilization since the pool last changed size (at most the window), and over how long. */
  utilizationAtCurrentSize(): { utilization: number | null; measuredMs: number } {
    const now = this.opts.clock.now();
    this.usage.prune(now);
    const since = Math.max(now - this.usage.window, this.lastResizeAt);
    return { utilization: this.usage.utilization(now, since), measuredMs: now - since };
  }

  setDesired(n: number): void {
    this.desiredCount = Math.max(0, n);
    this.reconcile();
  }

  /** Bring the slots in line with `desired`: add, drain, (re)start what is due. */
  reconcile(): void {
    if (this.stopping) return;
    const now = this.opts.clock.now();
    while (this.slots.size < this.desiredCount) this.newSlot(now);
    while (this.slots.size > this.desiredCount) {
      const victim = this.pickSlotToRemove();
      this.slots.delete(victim.name);
      if (victim.worker) this.drainWorker(victim.worker, 'scale_down');
    }
    let nextAt = Infinity;
    for (const slot of this.slots.values()) {
      if (slot.worker) continue;
      if (slot.fatalUntil !== undefined) {
        if (now < slot.fatalUntil) {
          nextAt = Math.min(nextAt, slot.fatalUntil);
          continue;
        }
        slot.fatalUntil = undefined;
        slot.failedStarts = 0;
        this.opts.log.info({ worker: slot.name }, 'fatal cooldown over; trying the slot again');
      }
      if (slot.restartAt > now) nextAt = Math.min(nextAt, slot.restartAt);
      // Not admitted (fleet cap full, lease lost): the slot waits until reconcile() is called again.
      else if (this.admits()) this.spawn(slot);
    }
    this.scheduleReconcile(nextAt - now);
  }

  private admits(): boolean {
    return this.opts.admit ? this.opts.admit() : true;
  }

  private scheduleReconcile(inMs: number): void {
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    if (!Number.isFinite(inMs)) return;
    this.restartTimer = setTimeout(() => this.reconcile(), Math.max(1, inMs));
  }

  private freeSlotName(): string {
    const used = new Set<string>([...this.slots.keys(), ...[...this.draining].map((w) => w.id)]);
    for (let i = 1; ; i++) {
      const name = `worker-${i}`;
      if (!used.has(name)) return name;
    }
  }

  /** Prefer an empty slot (backing off or fatal), then a starting child, then the least busy. */
  private pickSlotToRemove(): Slot {
    const slots = [...this.slots.values()];
    const rank = (s: Slot) => (!s.worker ? -2 : s.worker.state === 'starting' ? -1 : s.worker.busySlots);
    slots.sort((a, b) => rank(a) - rank(b) || byName(b.name, a.name));
    return slots[0]!;
  }

  private spawn(slot: Slot): void {
    const lease = this.opts.lease;
    // A lease that does not hold (never registered, lost) reaches the child as a deadline long past: it takes no job.
    const leaseUntil = lease ? Math.max(0, lease.until()) : undefined;
    const settings: Omit<WorkerSettings, 'tokenBase'> = { ...this.opts.settings, workerId: slot.name, ...(lease ? { leaseUntil, leaseFile: lease.file } : {}) };
    const worker = new WorkerProcess(slot.name, settings.concurrency, settings, this.entry, () => this.opts.clock.now(), this.opts.tokenPrefix?.() ?? '', this.opts.startChild);
    slot.worker = worker;
    this.versionOf.set(worker, this.settingsVersion);
    this.opts.log.debug({ worker: slot.name, pid: worker.pid }, 'worker forked');
    worker.on('ready', () => {
      this.lastResizeAt = this.opts.clock.now();
      this.usage.workerStarted(worker.key, worker.readyAtLocal ?? this.opts.clock.now(), worker.concurrency);
      this.emit('worker-ready', worker);
      this.opts.log.info({ worker: worker.id, pid: worker.pid, startMs: Math.round(this.opts.clock.now() - worker.forkedAt) }, 'worker ready');
    });
    worker.on('message', (msg) => this.onWorkerMessage(worker, msg));
    worker.on('exit', (code, signal) => this.onWorkerExit(worker, code, signal));
    this.emit('worker-started', worker);
  }

  private onWorkerMessage(worker: WorkerProcess, msg: ChildMessage): void {
    if (msg.type === 'sample') {
      const at = worker.childTimeToLocal(msg.at, this.opts.clock.now());
      this.usage.record(worker.key, { at, busyMs: msg.busyMs, busySlots: msg.busySlots });
      this.checkRecycle(worker);
    } else if (msg.type === 'retire' && worker.state === 'running' && !this.stopping) {
      this.opts.log.info({ worker: worker.id, pid: worker.pid, reason: msg.reason, running: worker.busySlots }, 'worker asked to be replaced');
      this.retire(worker, msg.reason);
    }
    this.emit('worker-message', worker, msg);
  }

  /** Retire a worker that ran its quota of jobs or grew too big; its replacement starts at once. */
  private checkRecycle(worker: WorkerProcess): void {
    if (worker.state !== 'running' || this.stopping || this.slots.get(worker.id)?.worker !== worker) return;
    const { maxJobsPerWorker, maxMemoryMb } = this.opts;
    let reason: ExitReason | undefined;
    if (maxJobsPerWorker !== undefined && worker.processed + worker.failed >= maxJobsPerWorker) reason = 'max_jobs';
    else if (maxMemoryMb !== undefined && worker.rssBytes > maxMemoryMb * 1024 * 1024) reason = 'max_memory';
    if (!reason) return;
    this.opts.log.info({ worker: worker.id, pid: worker.pid, reason, jobs: worker.processed + worker.failed, rssBytes: worker.rssBytes }, 'recycling worker');
    this.retire(worker, reason);
  }

  /**
   * Replace a worker without losing capacity: its replacement is forked at once, and the old one
   * keeps taking jobs until the replacement is ready (or fails), then drains. Used for recycling
   * and for settings that need new processes. Returns the replacement, or undefined when the
   * worker is not one of the pool's (already draining, gone) or the pool is stopping.
   */
  retire(worker: WorkerProcess, reason: ExitReason): WorkerProcess | undefined {
    const slot = this.slots.get(worker.id);
    if (!slot || slot.worker !== worker || this.stopping) return undefined;
    if (!this.admits()) {
      // No room for a successor beside it (the fleet cap): it drains first, and its slot is
      // filled once it has exited and a child is admitted again.
      this.slots.delete(slot.name);
      this.newSlot(this.opts.clock.now());
      this.drainWorker(worker, reason);
      return undefined;
    }
    worker.stopReason = reason;
    this.slots.delete(slot.name);
    this.draining.add(worker);
    const fresh = this.newSlot(this.opts.clock.now());
    this.spawn(fresh);
    const replacement = fresh.worker!;
    const handOver = () => {
      replacement.off('ready', handOver);
      replacement.off('exit', handOver);
      this.drainWorker(worker, reason);
    };
    replacement.on('ready', handOver);
    replacement.on('exit', handOver);
    return replacement;
  }

  /**
   * Replace every worker in a slot (the fleet registration their tokens belong to was claimed by a
   * peer, which is handing their jobs back): each stops taking jobs once its successor is ready.
   */
  replaceAll(reason: ExitReason): number {
    let n = 0;
    for (const slot of [...this.slots.values()]) if (slot.worker?.state === 'running' && this.retire(slot.worker, reason) !== undefined) n++;
    return n;
  }

  private newSlot(now: number): Slot {
    const name = this.freeSlotName();
    const slot: Slot = { name, worker: undefined, failedStarts: 0, restartAt: now, fatalUntil: undefined, lastError: undefined };
    this.slots.set(name, slot);
    return slot;
  }

  drainWorker(worker: WorkerProcess, reason: ExitReason): void {
    if (worker.state === 'draining' || worker.state === 'exited') return;
    this.lastResizeAt = this.opts.clock.now();
    this.draining.add(worker);
    worker.drain(reason);
    this.opts.log.info({ worker: worker.id, pid: worker.pid, reason, running: worker.busySlots }, 'draining worker');
    this.emit('worker-draining', worker, reason);
  }

  /** The fleet lease was renewed: every live child may go on until `until` (host monotonic ms). */
  extendLeases(until: number): void {
    for (const w of this.workers()) w.extendLease(until);
  }

  private onWorkerExit(worker: WorkerProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const now = this.opts.clock.now();
    this.usage.workerExited(worker.key, now);
    // It stopped itself at its lease deadline (the event loop's exit code, or its watchdog thread's SIGKILL).
    if (code === FENCED_EXIT_CODE || (signal === 'SIGKILL' && worker.leaseUntil !== undefined && hostMonotonicMs() >= worker.leaseUntil)) worker.stopReason ??= 'fenced';
    if (this.draining.delete(worker)) {
      const reason = worker.stopReason ?? 'shutdown';
      this.opts.log.info({ worker: worker.id, pid: worker.pid, reason, code, signal }, 'worker exited');
      this.emit('worker-exit', { worker, reason, code, signal });
      // Its successor may have waited for admission (the fleet cap): room now.
      if (this.opts.admit) this.reconcile();
      return;
    }
    const slot = this.slots.get(worker.id);
    if (!slot || slot.worker !== worker) return;
    slot.worker = undefined;
    this.lastResizeAt = now;
    if (this.stopping) {
      this.emit('worker-exit', { worker, reason: 'shutdown', code, signal });
      return;
    }
    if (worker.stopReason === 'fenced') {
      // Not the child's fault: its slot starts a new one as soon as a lease (and a fleet slot) is held.
      slot.restartAt = now;
      this.opts.log.warn({ worker: worker.id, pid: worker.pid, code, signal, lostJobs: worker.busySlots }, 'worker stopped by the fleet fence; its running jobs are handed back');
      this.emit('worker-exit', { worker, reason: 'fenced', code, signal });
      this.reconcile();
      return;
    }
    const livedMs = now - worker.forkedAt;
    const plan = planRestart(this.backoff, slot, { now, livedMs, becameReady: worker.readyAt !== undefined && !worker.loadError });
    // A worker the supervisor killed itself (a job past its hard time limit) says so.
    const reason: ExitReason = plan.failedStarts > 0 ? 'failed_start' : (worker.stopReason ?? 'crash');
    slot.failedStarts = plan.failedStarts;
    slot.lastError = worker.loadError ?? worker.stderrTail.slice(-5).join('\n') ?? undefined;
    this.emit('worker-exit', { worker, reason, code, signal });
    if (plan.kind === 'fatal') {
      slot.fatalUntil = plan.untilMs;
      this.opts.log.error(
        { worker: slot.name, failedStarts: plan.failedStarts, retryInS: Math.round((plan.untilMs - now) / 1000), loadError: worker.loadError, stderr: worker.stderrTail.slice(-10) },
        'worker keeps failing to start; slot is fatal until the cooldown passes',
      );
      this.emit('slot-fatal', slot);
    } else {
      slot.restartAt = plan.atMs;
      const level = plan.failedStarts > 0 ? 'warn' : 'error';
      this.opts.log[level](
        { worker: slot.name, pid: worker.pid, code, signal, lostJobs: worker.busySlots, restartInMs: Math.round(plan.atMs - now), failedStarts: plan.failedStarts, loadError: worker.loadError },
        plan.failedStarts > 0 ? 'worker failed to start; restarting after back-off' : 'worker died; replacing it',
      );
    }
    this.reconcile();
  }

  /**
   * Stop every child: drain, wait until `deadlineMs`, then make the rest hand their jobs back and
   * kill what is still alive. Resolves to whether anything had to be forced.
   */
  async shutdown(timeoutMs: number, force?: Promise<void>): Promise<{ forced: boolean }> {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    const all = this.workers();
    for (const slot of this.slots.values()) {
      if (slot.worker) this.draining.add(slot.worker);
      slot.worker = undefined;
    }
    this.slots.clear();
    for (const w of all) w.drain('shutdown');
    const allExited = Promise.all(all.map((w) => w.exited()));
    // The stop timeout is the whole budget: the last part of it is kept for handing jobs back and
    // killing what still runs, so that even with Redis unreachable the stop ends within it.
    const reserveMs = Math.min(STOP_RESERVE_MS, timeoutMs / 2);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => (timer = setTimeout(() => resolve('deadline'), timeoutMs - reserveMs)));
    const outcome = await Promise.race([allExited.then(() => 'done' as const), deadline, ...(force ? [force.then(() => 'deadline' as const)] : [])]);
    clearTimeout(timer);
    if (outcome === 'done') return { forced: false };
    const left = all.filter((w) => w.alive);
    this.opts.log.warn({ workers: left.map((w) => w.id), jobs: left.reduce((n, w) => n + w.busySlots, 0) }, 'stop deadline reached; handing running jobs back');
    for (const w of left) w.handBack();
    const killTimer = setTimeout(() => left.forEach((w) => w.kill('SIGKILL')), reserveMs * 0.6);
    // SIGKILL ends every child at once; the wait is bounded all the same, so the stop keeps its deadline.
    await settledWithin(Promise.all(left.map((w) => w.exited())), reserveMs);
    clearTimeout(killTimer);
    return { forced: left.length > 0 };
  }
}
