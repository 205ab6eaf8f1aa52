/**
 * Job starts and ends as Redis saw them, read from BullMQ's event streams of a pool's queues (the
 * children send no message per job). Each event carries the queue, job id and name, the worker slot
 * that ran it (BullMQ's processedBy), the lock token at the start (which tells the child: every token
 * is `${tokenBase}:${n}`), and, at the end, the outcome and run time (finishedOn − processedOn).
 * Events are kept in the order Redis recorded them; the streams are read from their beginning, so a
 * recorder started late misses nothing.
 */
import { EventEmitter } from 'node:events';
import type { Redis } from 'ioredis';
import { client, redisUrl } from './redis.js';
import { once } from './wait.js';

export interface JobEvent {
  type: 'job-start' | 'job-end';
  queue: string;
  id: string;
  name: string;
  /** The worker slot (its id), from the job's processedBy. */
  worker: string;
  /** The job's lock when its start was read (undefined if it had already ended). */
  token?: string;
  status?: 'completed' | 'failed';
  durationMs?: number;
}

interface Keyed {
  e: JobEvent;
  /** Stream time (ms), then end before start at the same ms (a slot frees before it is refilled), then sequence. */
  ms: number;
  rank: number;
  seq: number;
}

export class JobEvents extends EventEmitter<{ event: [JobEvent] }> {
  readonly events: JobEvent[] = [];
  private readonly keyed: Keyed[] = [];
  private readonly conn: Redis;
  private readonly reader: Redis;
  private closed = false;
  private readonly loop: Promise<void>;

  constructor(
    private readonly prefix: string,
    private readonly queues: readonly string[],
    url = redisUrl(),
  ) {
    super();
    this.conn = client(url);
    this.reader = client(url);
    this.loop = this.run();
  }

  /** Starts and ends so far. */
  starts(): JobEvent[] {
    return this.events.filter((e) => e.type === 'job-start');
  }

  ends(): JobEvent[] {
    return this.events.filter((e) => e.type === 'job-end');
  }

  /** The next start from now on that `match` accepts. */
  async nextStart(match: (e: JobEvent) => boolean, timeoutMs = 30_000): Promise<JobEvent> {
    const [e] = await once<[JobEvent]>(this, 'event', (x) => x.type === 'job-start' && match(x), timeoutMs);
    return e;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.reader.disconnect();
    await this.loop.catch(() => undefined);
    this.conn.disconnect();
  }

  private async run(): Promise<void> {
    const keys = this.queues.map((q) => `${this.prefix}:${q}:events`);
    const last = keys.map(() => '0');
    while (!this.closed) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        reply = (await this.reader.xread('BLOCK', 1000, 'STREAMS', ...keys, ...last)) as typeof reply;
      } catch (err) {
        if (this.closed) return;
        throw err;
      }
      if (!reply) continue;
      const found: Array<{ queue: string; id: string; event: string; streamId: string }> = [];
      for (const [key, entries] of reply) {
        const i = keys.indexOf(key);
        for (const [streamId, fields] of entries) {
          last[i] = streamId;
          const f: Record<string, string> = {};
          for (let k = 0; k + 1 < fields.length; k += 2) f[fields[k]!] = fields[k + 1]!;
          if (f['event'] === 'active' || f['event'] === 'completed' || f['event'] === 'failed') found.push({ queue: this.queues[i]!, id: f['jobId']!, event: f['event'], streamId });
        }
      }
      if (found.length === 0) continue;
      const p = this.conn.pipeline();
      for (const x of found) {
        const jobKey = `${this.prefix}:${x.queue}:${x.id}`;
        p.hmget(jobKey, 'name', 'pb', 'processedOn', 'finishedOn');
        p.get(`${jobKey}:lock`);
      }
      const res = (await p.exec()) ?? [];
      found.forEach((x, n) => {
        const [name, pb, processedOn, finishedOn] = (res[2 * n]?.[1] as Array<string | null>) ?? [];
        const lock = (res[2 * n + 1]?.[1] as string | null) ?? undefined;
        const worker = pb ? pb.slice(pb.lastIndexOf(':') + 1) : '';
        const e: JobEvent =
          x.event === 'active'
            ? { type: 'job-start', queue: x.queue, id: x.id, name: name ?? '', worker, token: lock }
            : { type: 'job-end', queue: x.queue, id: x.id, name: name ?? '', worker, status: x.event as 'completed' | 'failed', durationMs: Math.max(0, Number(finishedOn) - Number(processedOn)) || 0 };
        const [ms, seq] = x.streamId.split('-').map(Number) as [number, number];
        this.insert({ e, ms, rank: e.type === 'job-end' ? 0 : 1, seq });
        this.emit('event', e);
      });
    }
  }

  private insert(k: Keyed): void {
    const before = (a: Keyed, b: Keyed) => a.ms - b.ms || a.rank - b.rank || a.seq - b.seq;
    let i = this.keyed.length;
    while (i > 0 && before(k, this.keyed[i - 1]!) < 0) i--;
    this.keyed.splice(i, 0, k);
    this.events.splice(i, 0, k.e);
  }
}
