/**
 * The consumption watchdog: replaces a child that stays connected but has stopped taking jobs (a
 * connection gone quiet behind a NAT or a failover, the BullMQ issues #648, #3088, #4138). A child
 * is stuck when, for `stuck-seconds` on end, it had free slots, one of its queues had jobs it may
 * take (waiting or prioritized; the queue not paused, not rate-limited, not at its global
 * concurrency) and it started none. It is replaced make-before-break (reason `stuck`), and killed
 * if it has not drained by the stop timeout (its jobs are then handed back).
 *
 * Everything comes from what the supervisor has anyway: the children's samples (started jobs,
 * busy slots) and the queue counts, plus one PTTL per queue for the rate limiter. The queues
 * are read only while some child is quiet (free slots, no job started for QUIET_MS): a pool that
 * keeps starting jobs, or has every slot busy, costs Redis nothing here, whatever its number of queues.
 */
import type { Clock } from '../clock.js';
import type { SampleMessage } from '../ipc/messages.js';
import type { Logger } from '../logger.js';
import type { QueueCountsReader, QueueSnapshot } from '../redis/queue-counts.js';
import type { Supervisor } from './supervisor.js';
import type { WorkerProcess } from './worker-process.js';

export interface StuckWatchOptions {
  supervisor: Supervisor;
  reader: QueueCountsReader;
  prefix: string;
  clock: Clock;
  log: Logger;
  /** Read at each look, so a reload applies. */
  stuckMs: () => number;
  /** Global concurrency limits by queue, as Redis holds them for this pool. */
  limits: () => Readonly<Record<string, number>>;
  /** How long a replaced stuck child may take to drain before it is killed. */
  killAfterMs: () => number;
  /** How often the queues are looked at (default 1 s). */
  intervalMs?: number;
}

/** Whether a queue has jobs a free slot may take now (pure). */
export function takeable(snap: QueueSnapshot, limit: number | undefined, rateLimited: boolean): boolean {
  if (snap.paused || rateLimited) return false;
  if (limit !== undefined && snap.counts.active >= limit) return false;
  return snap.counts.waiting + snap.counts.prioritized > 0;
}

/** A child with free slots that started no job for this long makes the watchdog read the queues. */
const QUIET_MS = 1000;

interface Seen {
  started: number;
  /** When (monotonic ms) its count of started jobs last grew (or it was first seen). */
  startedAt: number;
  /** At its last sample: free slots, and no job started for QUIET_MS. */
  quiet: boolean;
  /** Since when (monotonic ms) the child has had free slots and takeable work without starting a job. */
  idleSince: number | undefined;
}

export class StuckWatch {
  private readonly seen = new Map<WorkerProcess, Seen>();
  /** Queue → jobs it may hand out now, as of the last look (absent: none). */
  private work = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private looking = false;
  replaced = 0;

  constructor(private readonly o: StuckWatchOptions) {
    o.supervisor.on('worker-message', (w, m) => m.type === 'sample' && this.onSample(w, m));
    o.supervisor.on('worker-exit', (e) => this.seen.delete(e.worker));
  }

  start(): void {
    this.timer = setInterval(() => void this.look(), this.o.intervalMs ?? 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Refresh which queues have takeable jobs. Redis not answering: nothing is known, nobody is judged. */
  async look(): Promise<void> {
    if (this.looking) return;
    if (![...this.seen.values()].some((s) => s.quiet)) {
      // Nobody could be stuck: no read, and no stale counts left to judge by once someone is quiet.
      this.work = new Map();
      return;
    }
    this.looking = true;
    try {
      const snap = await this.o.reader.snapshot();
      const limits = this.o.limits();
      const names = Object.keys(snap);
      const pipe = this.o.reader.client.pipeline();
      for (const q of names) pipe.pttl(`${this.o.prefix}:${q}:limiter`);
      const ttls = ((await pipe.exec()) ?? []).map(([err, v]) => (err ? 0 : Number(v)));
      const work = new Map<string, number>();
      names.forEach((q, i) => {
        const s = snap[q]!;
        if (takeable(s, limits[q], ttls[i]! > 0)) work.set(q, s.counts.waiting + s.counts.prioritized);
      });
      this.work = work;
    } catch {
      this.work = new Map();
    } finally {
      this.looking = false;
    }
  }

  onSample(w: WorkerProcess, m: SampleMessage): void {
    const now = this.o.clock.now();
    const started = m.started ?? 0;
    const s = this.seen.get(w) ?? { started, startedAt: now, quiet: false, idleSince: undefined };
    this.seen.set(w, s);
    const free = w.concurrency - m.busySlots;
    if (started > s.started) s.startedAt = now;
    s.quiet = free > 0 && now - s.startedAt >= QUIET_MS;
    const waiting = w.queues.filter((q) => this.work.has(q));
    if (started > s.started || w.state !== 'running' || w.stopReason !== undefined || free <= 0 || waiting.length === 0) {
      s.started = started;
      s.idleSince = undefined;
      return;
    }
    s.idleSince ??= now;
    const stuckMs = this.o.stuckMs();
    if (now - s.idleSince < stuckMs) return;
    this.replace(w, free, waiting, (now - s.idleSince) / 1000);
    s.idleSince = undefined;
  }

  private replace(w: WorkerProcess, free: number, queues: string[], seconds: number): void {
    const waiting = Object.fromEntries(queues.map((q) => [q, this.work.get(q)]));
    const fresh = this.o.supervisor.retire(w, 'stuck');
    if (!fresh) return;
    this.replaced++;
    this.o.log.warn(
      { worker: w.id, pid: w.pid, seconds: Math.round(seconds * 10) / 10, freeSlots: free, started: this.seen.get(w)?.started, waiting, replacement: fresh.id },
      'worker started no job while it had free slots and its queues had jobs waiting; replacing it (stuck)',
    );
    // A child whose connection hangs may never finish draining: end it, and its jobs are handed back.
    const kill = setTimeout(() => {
      if (w.state === 'exited') return;
      this.o.log.warn({ worker: w.id, pid: w.pid }, 'stuck worker did not drain in time; killing it (its jobs are handed back)');
      w.kill('SIGKILL');
    }, this.o.killAfterMs());
    kill.unref();
    void w.exited().then(() => clearTimeout(kill));
  }
}
