/**
 * How an idle worker child waits for a job: blocked on its queues' BullMQ marker keys (BZPOPMIN),
 * which BullMQ sets whenever a job is added to a queue or taken from one.
 *
 * Redis' cost for a blocked wait grows with the number of keys: registering a client on every key
 * and removing it again when one of them fires costs about 0.25 µs per key (measured on Redis 7.0:
 * 5 µs for one key, 13 µs for 32, 120 µs for 500), and an idle pool pays it for every job that
 * arrives. So the queues are split into groups of at most GROUP_SIZE, in the order they are listed,
 * each blocked on by a connection of its own. A job's arrival wakes the one group that holds its
 * queue; only that group blocks again, so a wake-up costs the same with 30 queues or 500.
 *
 * Order: within a group, BZPOPMIN pops the first listed key that holds a marker, so no queue before
 * it had one. Across groups, the wake-ups that came in while the child was busy are kept, and the
 * earliest listed queue among them is served first. Two jobs that arrive in different groups within
 * one round trip may be taken in either order, as if they had arrived the other way round; jobs that
 * wait while the worker is busy are found by the fetch loop's full look, in strict order.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { QueueSide } from './child-state.js';

/** Most queues one blocking connection waits on. */
export const GROUP_SIZE = 32;
const RETRY_MS = 1000;

interface Group {
  index: number;
  keys: string[];
  conn: Redis;
  /** A BZPOPMIN of this group is under way. */
  blocked: boolean;
}

export interface MarkerWatchOptions {
  sides: readonly QueueSide[];
  /** Opens group i's connection (called once per group, at construction). */
  connect(group: number): Redis;
  /** Sets a marker again (on the child's ordinary connection). */
  setMarker(key: string): Promise<unknown>;
  log: Logger;
}

/** Splits n queues into groups of at most `size`, as even as possible, in order. */
export function groupBounds(n: number, size = GROUP_SIZE): Array<[number, number]> {
  const groups = Math.max(1, Math.ceil(n / size));
  const per = Math.ceil(n / groups);
  return Array.from({ length: groups }, (_, g) => [g * per, Math.min(n, (g + 1) * per)] as [number, number]).filter(([a, b]) => b > a);
}

export class MarkerWatch {
  private readonly groups: Group[];
  private readonly byMarker = new Map<string, { side: QueueSide; order: number }>();
  /** Queues whose marker this child popped and has not fetched from yet. */
  private readonly pending = new Map<QueueSide, number>();
  private waiter: ((side: QueueSide | undefined) => void) | undefined;
  private waitUntil = 0;
  /** The child has no free slot: a marker popped now is set back at once. */
  private parked = false;
  private closed = false;

  constructor(private readonly opts: MarkerWatchOptions) {
    opts.sides.forEach((side, order) => this.byMarker.set(side.markerKey, { side, order }));
    this.groups = groupBounds(opts.sides.length).map(([a, b], index) => {
      const conn = opts.connect(index);
      conn.on('error', (err: Error) => opts.log.debug({ err: err.message }, 'redis connection error'));
      return { index, keys: opts.sides.slice(a, b).map((s) => s.markerKey), conn, blocked: false };
    });
  }

  /** How many blocking connections this child holds. */
  get connections(): number {
    return this.groups.length;
  }

  /**
   * The queue to fetch from next: the earliest listed one whose marker this child has popped, at
   * once if there is one; else the first to be signalled within `timeoutSec`. Undefined on timeout
   * or after close(): the caller then looks at every queue.
   */
  wait(timeoutSec: number): Promise<QueueSide | undefined> {
    if (this.closed) return Promise.resolve(undefined);
    this.parked = false;
    const first = this.takePending();
    if (first) {
      for (const g of this.groups) this.arm(g, timeoutSec);
      return Promise.resolve(first);
    }
    this.waitUntil = Date.now() + timeoutSec * 1000;
    for (const g of this.groups) this.arm(g, timeoutSec);
    return new Promise((resolve) => {
      const timer = setTimeout(() => this.settle(undefined), timeoutSec * 1000);
      this.waiter = (side) => {
        clearTimeout(timer);
        resolve(side);
      };
    });
  }

  /** The child has no free slot: set back the markers it popped, and any it pops until it waits again. */
  park(): void {
    this.parked = true;
    for (const side of [...this.pending.keys()]) this.giveBack(side);
  }

  /** Put back a wake-up the caller took from wait() and will not use. */
  giveBack(side: QueueSide): void {
    this.pending.delete(side);
    this.opts.setMarker(side.markerKey).catch((err: unknown) => this.opts.log.debug({ queue: side.name, err: (err as Error).message }, 'could not set a marker back'));
  }

  /** Stop waiting for good (the child stops taking jobs): ends every blocked call now. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.park();
    for (const g of this.groups) g.conn.disconnect();
    this.settle(undefined);
  }

  private takePending(): QueueSide | undefined {
    let best: QueueSide | undefined;
    let bestOrder = Infinity;
    for (const [side, order] of this.pending) if (order < bestOrder) [best, bestOrder] = [side, order];
    if (best) this.pending.delete(best);
    return best;
  }

  private settle(side: QueueSide | undefined): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.(side);
  }

  private arm(g: Group, timeoutSec: number): void {
    if (g.blocked || this.closed) return;
    g.blocked = true;
    const run = async (): Promise<[string, string, string] | null> => {
      if (g.conn.status === 'end') await g.conn.connect();
      return g.conn.bzpopmin(...g.keys, Math.max(0.01, timeoutSec));
    };
    run().then(
      (reply) => {
        g.blocked = false;
        if (reply) this.popped(reply[0]);
        else this.rearmIfWaited(g);
      },
      (err: unknown) => {
        if (this.closed) return;
        this.opts.log.debug({ err: (err as Error).message }, 'waiting for jobs failed; retrying');
        setTimeout(() => {
          g.blocked = false;
          this.rearmIfWaited(g);
        }, RETRY_MS).unref();
      },
    );
  }

  /** A group's block ended without a marker while the child still waits: block again until the wait ends. */
  private rearmIfWaited(g: Group): void {
    if (this.waiter) this.arm(g, (this.waitUntil - Date.now()) / 1000);
  }

  private popped(key: string): void {
    const hit = this.byMarker.get(key);
    if (!hit) return;
    if (this.parked || this.closed) {
      this.giveBack(hit.side);
      return;
    }
    if (this.waiter) this.settle(hit.side);
    else this.pending.set(hit.side, hit.order);
  }
}
