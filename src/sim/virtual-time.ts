/**
 * Virtual time for the simulator: a ManualClock that jumps from one scheduled event to the next, with
 * Timers on the same queue (so the real control loop's periods run on it), and a pause after any
 * event that started promises (a decision reading the simulated queues) for them to settle first.
 */
import { ManualClock, type Timers } from '../clock.js';

/** One scheduled event; cancelled ones stay in the queue and are skipped. */
export class VirtualTimer {
  cancelled = false;
  constructor(
    readonly at: number,
    /** Among events due at the same time, lower ranks run first. */
    readonly rank: number,
    readonly seq: number,
    readonly fn: () => void,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

export class VirtualTime implements Timers {
  readonly clock = new ManualClock(0);
  /** A binary min-heap by (at, rank, seq): events due at the same time and rank run in the order they were scheduled. */
  private readonly heap: VirtualTimer[] = [];
  private seq = 0;
  /** Set when an event started promises (see settleAfter). */
  unsettled = false;

  get now(): number {
    return this.clock.now();
  }

  /**
   * Run `fn` at `at` ms (never before now), after everything of the same rank already scheduled for
   * then; rank 0 goes before the rest (a job arriving at the very time of a decision is seen by it).
   */
  at(at: number, fn: () => void, rank = 1): VirtualTimer {
    const timer = new VirtualTimer(Math.max(at, this.now), rank, this.seq++, fn);
    this.push(timer);
    return timer;
  }

  setTimeout(fn: () => void, ms: number): VirtualTimer {
    return this.at(this.now + Math.max(0, ms), () => {
      this.settleAfter();
      fn();
    });
  }

  clearTimeout(handle: unknown): void {
    if (handle instanceof VirtualTimer) handle.cancel();
  }

  /** The event under way started promises: let them settle before the next one runs. */
  settleAfter(): void {
    this.unsettled = true;
  }

  /** When the next event is due; Infinity when none is. */
  nextAt(): number {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
    return this.heap.length > 0 ? this.heap[0]!.at : Infinity;
  }

  /** Move the clock to the next event and run it. */
  runNext(): void {
    if (this.nextAt() === Infinity) return;
    const timer = this.pop();
    this.clock.set(timer.at);
    timer.fn();
  }

  /** Move the clock forward without running anything (the end of the simulation). */
  advanceTo(at: number): void {
    if (at > this.now) this.clock.set(at);
  }

  /** Let every promise the last event started run to its end (they need no time: nothing real is awaited). */
  async settle(): Promise<void> {
    while (this.unsettled) {
      this.unsettled = false;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  private push(timer: VirtualTimer): void {
    const h = this.heap;
    let i = h.length;
    h.push(timer);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(timer, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = timer;
  }

  private pop(): VirtualTimer {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length === 0) return top;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const c = r < h.length && before(h[r]!, h[l]!) ? r : l;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = last;
    return top;
  }
}

function before(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.at < b.at || (a.at === b.at && (a.rank < b.rank || (a.rank === b.rank && a.seq < b.seq)));
}
