/**
 * The supervisor owns the worker children. It keeps `desired` slots filled (forking, restarting
 * with back-off, marking a slot fatal when its child keeps failing to start), drains the idlest
 * worker when asked for fewer, feeds the usage window, and stops everything with a deadline.
 * It decides nothing about scale: the control loop sets `desired`.
 */
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { ChildMessage, WorkerSettings } from '../ipc/messages.js';
import { DEFAULT_BACKOFF, type BackoffOptions } from '../policy/backoff.js';
import { planAfterDeath, recycleReason, stoppedByFence } from './restarts.js';
import { UsageWindow } from '../policy/usage-window.js';
import { stopChildren } from './stop-children.js';
import { bySlotName, emptySlot, freeSlotName, slotDueAt, slotToRemove, type Slot } from './slots.js';
import { WorkerProcess, type ExitReason } from './worker-process.js';
import type { SupervisorEvents, SupervisorOptions } from './supervisor-types.js';

/** The compiled child entry; src/ and dist/ sit at the same depth, so this works from either. */
export const WORKER_ENTRY = fileURLToPath(new URL('../../dist/worker/main.js', import.meta.url));

export type { Slot } from './slots.js';
export type { SupervisorEvents, SupervisorOptions, WorkerExit } from './supervisor-types.js';

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
    const inSlots = this.slotList().flatMap((s) => (s.worker ? [s.worker] : []));
    return [...inSlots, ...this.draining].sort((a, b) => bySlotName(a.id, b.id) || a.forkedAt - b.forkedAt);
  }

  slotList(): Slot[] {
    return [...this.slots.values()];
  }

  /** Children that count toward the pool's size: starting or running, not draining. */
  activeCount(): number {
    return this.slotList().filter((s) => s.worker && s.worker.state !== 'draining').length;
  }

  /**
   * Children taking jobs now. Includes a retired worker that still works while its successor
   * starts (it left its slot but is not draining yet), so a reload or a recycle never looks
   * like a pool below min-workers.
   */
  runningCount(): number {
    return this.workers().filter((w) => w.state === 'running').length;
  }

  fatalCount(): number {
    return this.slotList().filter((s) => s.fatalUntil !== undefined).length;
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
      const victim = slotToRemove(this.slots.values());
      this.slots.delete(victim.name);
      if (victim.worker) this.drainWorker(victim.worker, 'scale_down');
    }
    let nextAt = Infinity;
    for (const slot of this.slots.values()) {
      if (slot.worker) continue;
      const due = slotDueAt(slot, now, this.opts.log);
      if (due > now) nextAt = Math.min(nextAt, due);
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
    const reason = recycleReason(worker, this.opts);
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
    const name = freeSlotName([...this.slots.keys(), ...[...this.draining].map((w) => w.id)]);
    const slot = emptySlot(name, now);
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
    if (stoppedByFence(worker, code, signal)) worker.stopReason ??= 'fenced';
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
    const { reason, fatal } = planAfterDeath(slot, worker, { backoff: this.backoff, now, code, signal, log: this.opts.log });
    this.emit('worker-exit', { worker, reason, code, signal });
    if (fatal) this.emit('slot-fatal', slot);
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
    return stopChildren(all, timeoutMs, force, this.opts.log);
  }
}
