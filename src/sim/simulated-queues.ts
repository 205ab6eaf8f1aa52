/**
 * The simulator's Redis, where the trace's jobs arrive on virtual time and wait in their queues
 * (strict queue order, oldest first) until a simulated child takes one, whose backlog the real
 * PoolDemand reads as it reads a QueueCountsReader's and on whose markers the real ArrivalWatch
 * blocks as on Redis (a job's arrival sets its queue's marker; a child that finds the queues empty
 * has popped it).
 */
import type { QueueCountsReader, QueueSnapshot } from '../redis/queue-counts.js';
import type { MarkerConnection } from '../scaling/arrival-watch.js';
import type { Trace } from './traces.js';
import type { VirtualTime } from './virtual-time.js';

/** A job of the trace, in milliseconds, with its queue's place in the strict order. */
export interface SimJob {
  index: number;
  queue: number;
  arrivalMs: number;
  durationMs: number;
  /** Share of its run time on a CPU, in [0, 1]. */
  cpu: number;
}

/** A child that takes waiting jobs while it has a free slot. */
export interface JobTaker {
  readonly serial: number;
  fill(): void;
}

type MarkerReply = [key: string, member: string, score: string] | null;

interface MarkerWaiter {
  keys: readonly string[];
  resolve(reply: MarkerReply): void;
  reject(err: Error): void;
  timeout: { cancel(): void };
}

export class SimulatedQueues implements Pick<QueueCountsReader, 'backlog' | 'snapshot'> {
  /** The queues in strict order: the pool's, then the trace's others in order of first appearance. */
  readonly order: string[];
  readonly jobs: SimJob[];
  private readonly waiting: number[][];
  private readonly heads: number[];
  private count = 0;
  private arrived = 0;
  /** Children taking jobs, oldest first: an arriving job goes to the oldest one with a free slot. */
  private takers: JobTaker[] = [];
  private readonly markers = new Set<string>();
  private readonly waiters = new Set<MarkerWaiter>();

  constructor(
    trace: Trace,
    poolQueues: readonly string[],
    private readonly time: VirtualTime,
    private readonly prefix: string,
  ) {
    this.order = [...poolQueues];
    const index = new Map(this.order.map((q, i) => [q, i]));
    this.jobs = trace.jobs.map((job, i) => {
      let queue = index.get(job.queue);
      if (queue === undefined) {
        queue = this.order.push(job.queue) - 1;
        index.set(job.queue, queue);
      }
      return { index: i, queue, arrivalMs: job.arrival * 1000, durationMs: job.duration * 1000, cpu: Math.min(1, Math.max(0, job.cpu ?? 0)) };
    });
    this.waiting = this.order.map(() => []);
    this.heads = this.order.map(() => 0);
  }

  /** Schedule the arrivals, each as the previous one arrives (the trace is sorted); `onArrival` is told of each first. */
  scheduleArrivals(onArrival: (job: SimJob) => void): void {
    const next = (i: number) => {
      const job = this.jobs[i];
      if (!job) return;
      const arrive = () => {
        onArrival(job);
        this.arrive(job);
        next(i + 1);
      };
      this.time.at(job.arrivalMs, arrive, 0);
    };
    next(0);
  }

  /** Every job has arrived and none waits. */
  get drained(): boolean {
    return this.arrived === this.jobs.length && this.count === 0;
  }

  get waitingCount(): number {
    return this.count;
  }

  addTaker(taker: JobTaker): void {
    this.takers.push(taker);
    this.takers.sort((a, b) => a.serial - b.serial);
  }

  removeTaker(taker: JobTaker): void {
    this.takers = this.takers.filter((t) => t !== taker);
  }

  /** The next job in strict queue order, oldest first; undefined when none waits. */
  take(): SimJob | undefined {
    if (this.count === 0) return undefined;
    for (let q = 0; q < this.waiting.length; q++) {
      const list = this.waiting[q]!;
      const head = this.heads[q]!;
      if (head >= list.length) continue;
      const job = this.jobs[list[head]!]!;
      this.heads[q] = head + 1;
      // Drop the taken ones now and then, not at every take.
      if (head + 1 > 1024 && (head + 1) * 2 > list.length) {
        list.splice(0, head + 1);
        this.heads[q] = 0;
      }
      // The last one taken: the child that looks again finds nothing and blocks on the markers.
      if (--this.count === 0) this.markers.clear();
      return job;
    }
    return undefined;
  }

  /** A job handed back: first in its queue again, for any child with a free slot. */
  putBack(job: SimJob): void {
    const list = this.waiting[job.queue]!;
    const head = this.heads[job.queue]!;
    if (head > 0) list[(this.heads[job.queue] = head - 1)] = job.index;
    else list.unshift(job.index);
    this.count++;
    this.offer(job);
  }

  async snapshot(): Promise<Record<string, QueueSnapshot>> {
    this.time.settleAfter();
    const now = this.time.now;
    const out: Record<string, QueueSnapshot> = {};
    this.order.forEach((name, q) => {
      const list = this.waiting[q]!;
      const head = this.heads[q]!;
      const waiting = list.length - head;
      const oldestAgeSeconds = waiting > 0 ? (now - this.jobs[list[head]!]!.arrivalMs) / 1000 : 0;
      out[name] = { counts: { waiting, active: 0, delayed: 0, prioritized: 0, 'waiting-children': 0, paused: 0, completed: 0, failed: 0 }, paused: false, oldestAgeSeconds };
    });
    return out;
  }

  /** As QueueCountsReader.backlog(): the jobs waiting and the oldest one's age. */
  async backlog(): Promise<{ waiting: number; oldestWaitMs: number | null }> {
    const snap = await this.snapshot();
    let oldest = 0;
    for (const s of Object.values(snap)) oldest = Math.max(oldest, s.oldestAgeSeconds);
    return { waiting: this.count, oldestWaitMs: this.count > 0 ? oldest * 1000 : null };
  }

  /** A connection for the ArrivalWatch: BZPOPMIN and ZADD on the queues' markers. */
  markerConnection(): MarkerConnection {
    return {
      bzpopmin: (...args) => this.popMarker(args.slice(0, -1) as string[], args[args.length - 1] as number),
      zadd: async (key) => this.setMarker(key),
      on: () => undefined,
      disconnect: () => {
        for (const w of this.waiters) w.reject(new Error('Connection is closed.'));
      },
    };
  }

  private arrive(job: SimJob): void {
    this.waiting[job.queue]!.push(job.index);
    this.count++;
    this.arrived++;
    this.offer(job);
  }

  /** A job is waiting: set its queue's marker, and let the children with a free slot take it, oldest first. */
  private offer(job: SimJob): void {
    this.setMarker(`${this.prefix}:${this.order[job.queue]}:marker`);
    for (const taker of this.takers) {
      if (this.count === 0) break;
      taker.fill();
    }
  }

  private setMarker(key: string): void {
    for (const w of this.waiters) {
      if (!w.keys.includes(key)) continue;
      w.resolve([key, '0', '0']);
      return;
    }
    this.markers.add(key);
  }

  /** BZPOPMIN: a marker set now, else the first one set within `timeoutSeconds`, else null. */
  private popMarker(keys: readonly string[], timeoutSeconds: number): Promise<MarkerReply> {
    this.time.settleAfter();
    const key = keys.find((k) => this.markers.has(k));
    if (key !== undefined) {
      this.markers.delete(key);
      return Promise.resolve([key, '0', '0']);
    }
    return new Promise<MarkerReply>((resolve, reject) => {
      const end = (fn: () => void) => {
        this.waiters.delete(waiter);
        waiter.timeout.cancel();
        this.time.settleAfter();
        fn();
      };
      const waiter: MarkerWaiter = {
        keys,
        resolve: (reply) => end(() => resolve(reply)),
        reject: (err) => end(() => reject(err)),
        timeout: this.time.at(this.time.now + timeoutSeconds * 1000, () => waiter.resolve(null)),
      };
      this.waiters.add(waiter);
    });
  }
}
