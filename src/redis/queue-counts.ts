/**
 * The supervisor's own view of Redis: is it reachable, how many jobs each queue holds by state,
 * and how long the job at the head of each queue has waited. Bounded cost: every read is a count
 * or a look at one end of a list or sorted set (O(1) / O(log n)), never a listing, so a scrape
 * costs the same with ten jobs or ten million.
 *
 * Paused: BullMQ 6 has no separate paused list; pausing a queue sets `paused` in its meta hash and
 * its jobs stay in the wait list. We report the wait list of a paused queue as state `paused`
 * (and `waiting` as 0), as BullMQ ≤ 5 did by moving them, so every job is counted once. Jobs left
 * in a legacy `paused` list by an older BullMQ are counted as paused too.
 */
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { connect, type RedisTarget } from './connection.js';
import { withTimeout } from '../timing.js';

export const COUNT_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children', 'paused', 'completed', 'failed'] as const;
export type QueueState = (typeof COUNT_STATES)[number];
export type QueueCounts = Record<QueueState, number>;

export interface QueueSnapshot {
  counts: QueueCounts;
  paused: boolean;
  /**
   * Seconds the oldest job that could run now has waited (head of the wait list, or the first
   * prioritized job; from enqueue or the end of its delay); 0 when none waits.
   */
  oldestAgeSeconds: number;
}

export class QueueCountsReader {
  readonly client: Redis;
  private readonly queues: Map<string, Queue>;
  private inFlight: Promise<Record<string, QueueSnapshot>> | undefined;
  redisUp = false;

  constructor(
    redis: RedisTarget | string,
    private readonly prefix: string,
    queueNames: readonly string[],
    name: string,
    private readonly wallNow: () => number = Date.now,
  ) {
    this.client = connect(redis, { connectionName: `worker-pool:${name}:supervisor`, failFast: true });
    this.client.on('error', () => undefined);
    this.client.on('ready', () => (this.redisUp = true));
    this.client.on('close', () => (this.redisUp = false));
    this.queues = new Map(queueNames.map((q) => [q, new Queue(q, { connection: this.client, prefix })]));
    for (const q of this.queues.values()) q.on('error', () => undefined);
  }

  async ping(timeoutMs = 1000): Promise<boolean> {
    try {
      const pong = await withTimeout(this.client.ping(), timeoutMs, `Redis did not answer within ${timeoutMs} ms`);
      this.redisUp = pong === 'PONG';
    } catch {
      this.redisUp = false;
    }
    return this.redisUp;
  }

  async counts(): Promise<Record<string, QueueCounts>> {
    const snap = await this.snapshot();
    return Object.fromEntries(Object.entries(snap).map(([q, s]) => [q, s.counts]));
  }

  /** Every queue's counts and oldest age; concurrent callers (one scrape's gauges) share one read. */
  snapshot(timeoutMs = 2000): Promise<Record<string, QueueSnapshot>> {
    if (!this.inFlight) {
      this.inFlight = withTimeout(this.read(), timeoutMs, `Redis did not answer within ${timeoutMs} ms`).finally(() => (this.inFlight = undefined));
    }
    return this.inFlight;
  }

  private async read(): Promise<Record<string, QueueSnapshot>> {
    const names = [...this.queues.keys()];
    const first = this.client.pipeline();
    for (const name of names) {
      const k = this.queues.get(name)!.keys;
      first
        .llen(k['wait']!)
        .llen(k['active']!)
        .zcard(k['delayed']!)
        .zcard(k['prioritized']!)
        .zcard(k['waiting-children']!)
        .llen(k['paused']!)
        .zcard(k['completed']!)
        .zcard(k['failed']!)
        .hexists(k['meta']!, 'paused')
        .lindex(k['wait']!, -1)
        .zrange(k['prioritized']!, '0', '0');
    }
    const r = unwrap(await first.exec());
    const heads: Array<{ queue: string; id: string }> = [];
    // A Map until the end, not `out[name] =` on an object: a queue may be called "__proto__".
    const out = new Map<string, QueueSnapshot>();
    names.forEach((name, i) => {
      const v = r.slice(i * 11, i * 11 + 11);
      const n = (x: unknown) => Number(x) || 0;
      const paused = n(v[8]) === 1;
      const wait = n(v[0]);
      out.set(name, {
        counts: {
          waiting: paused ? 0 : wait,
          active: n(v[1]),
          delayed: n(v[2]),
          prioritized: n(v[3]),
          'waiting-children': n(v[4]),
          paused: (paused ? wait : 0) + n(v[5]),
          completed: n(v[6]),
          failed: n(v[7]),
        },
        paused,
        oldestAgeSeconds: 0,
      });
      const waitHead = v[9];
      const prioHead = (v[10] as string[] | undefined)?.[0];
      // Markers of BullMQ < 5 ("0:…") sit at the tail of old wait lists; they are not jobs.
      if (typeof waitHead === 'string' && !waitHead.startsWith('0:')) heads.push({ queue: name, id: waitHead });
      if (typeof prioHead === 'string') heads.push({ queue: name, id: prioHead });
    });
    if (heads.length) {
      const second = this.client.pipeline();
      for (const h of heads) second.hmget(this.queues.get(h.queue)!.toKey(h.id), 'timestamp', 'delay');
      const fields = unwrap(await second.exec()) as Array<[string | null, string | null]>;
      const now = this.wallNow();
      heads.forEach((h, i) => {
        const [ts, delay] = fields[i] ?? [null, null];
        if (ts === null) return; // removed between the two reads
        const since = Number(ts) + (Number(delay) || 0);
        const age = Math.max(0, (now - since) / 1000);
        const s = out.get(h.queue)!;
        if (Number.isFinite(age)) s.oldestAgeSeconds = Math.max(s.oldestAgeSeconds, age);
      });
    }
    // fromEntries defines own properties, so even "__proto__" is a key like any other.
    return Object.fromEntries(out);
  }

  /** Jobs that could run now (waiting and prioritized) across the queues, and the oldest one's age. */
  async backlog(): Promise<{ waiting: number; oldestWaitMs: number | null }> {
    const snap = await this.snapshot();
    let waiting = 0;
    let oldest = 0;
    for (const s of Object.values(snap)) {
      waiting += s.counts.waiting + s.counts.prioritized;
      oldest = Math.max(oldest, s.oldestAgeSeconds);
    }
    return { waiting, oldestWaitMs: waiting > 0 ? oldest * 1000 : null };
  }

  /** Watch these queues from now on (a reload changed the pool's queues). */
  async setQueues(names: readonly string[]): Promise<void> {
    const gone = [...this.queues.keys()].filter((n) => !names.includes(n));
    for (const n of gone) {
      const q = this.queues.get(n)!;
      this.queues.delete(n);
      await q.close().catch(() => undefined);
    }
    for (const n of names) {
      if (this.queues.has(n)) continue;
      const q = new Queue(n, { connection: this.client, prefix: this.prefix });
      q.on('error', () => undefined);
      this.queues.set(n, q);
    }
  }

  queue(name: string): Queue | undefined {
    return this.queues.get(name);
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.queues.values()].map((q) => q.close()));
    this.client.disconnect();
  }
}

function unwrap(results: Array<[Error | null, unknown]> | null): unknown[] {
  if (!results) throw new Error('pipeline aborted');
  return results.map(([err, value]) => {
    if (err) throw err;
    return value;
  });
}
