/**
 * The pool's recent history kept in Redis, so that a restarted daemon (a deploy, a crash) still
 * shows what happened before: the live page's 15 minutes of points and the last scaling changes.
 * Two lists per pool under the BullMQ prefix, each trimmed on every write and expiring a day after
 * the last one, so a pool that is gone leaves nothing behind for long. POOL is the pool's name and
 * its identity (NAME:ID, see pool-identity.ts), so unrelated pools that share a name never mix:
 *   PREFIX:worker-pool:history:POOL   one JSON point per sample, the newest HISTORY_POINTS
 *   PREFIX:worker-pool:changes:POOL   one JSON decision per change of size, the newest KEEP_CHANGES
 * Writes are fire-and-forget (a failed one is lost, never retried); the store is a convenience.
 */
import type { Redis } from 'ioredis';
import type { DecisionRecord } from '../scaling/control-loop.js';

export const KEEP_CHANGES = 100;

/** One point of the live page's chart. */
export interface HistoryPoint {
  /** Epoch ms. */
  at: number;
  running: number;
  starting: number;
  draining: number;
  desired: number;
  utilization: number | null;
  busySlots: number;
  slots: number;
  /** Summed over the pool's queues; null when Redis did not answer. */
  waiting: number | null;
  active: number | null;
  delayed: number | null;
  oldestAgeSeconds: number | null;
}

const EXPIRE_SECONDS = 24 * 3600;

export interface HistorySink {
  appendPoint(p: HistoryPoint): void;
  appendChange(d: DecisionRecord): void;
  load(): Promise<{ points: HistoryPoint[]; changes: DecisionRecord[] }>;
}

export class RedisHistoryStore implements HistorySink {
  private readonly pointsKey: string;
  private readonly changesKey: string;

  constructor(
    private readonly client: Redis,
    prefix: string,
    /** NAME:ID, the pool's name and identity. */
    pool: string,
    private readonly maxPoints: number,
    private readonly onError: (err: Error) => void = () => undefined,
  ) {
    this.pointsKey = `${prefix}:worker-pool:history:${pool}`;
    this.changesKey = `${prefix}:worker-pool:changes:${pool}`;
  }

  appendPoint(p: HistoryPoint): void {
    this.append(this.pointsKey, JSON.stringify(p), this.maxPoints);
  }

  appendChange(d: DecisionRecord): void {
    this.append(this.changesKey, JSON.stringify(d), KEEP_CHANGES);
  }

  private append(key: string, value: string, keep: number): void {
    // Skipped while Redis is away: ioredis would queue every write until it is back.
    if (this.client.status !== 'ready') return;
    this.client.multi().rpush(key, value).ltrim(key, -keep, -1).expire(key, EXPIRE_SECONDS).exec().catch(this.onError);
  }

  /** What earlier runs kept, oldest first; entries that do not parse are left out. */
  async load(): Promise<{ points: HistoryPoint[]; changes: DecisionRecord[] }> {
    const [points, changes] = await Promise.all([this.client.lrange(this.pointsKey, 0, -1), this.client.lrange(this.changesKey, 0, -1)]);
    return { points: parseAll<HistoryPoint>(points), changes: parseAll<DecisionRecord>(changes) };
  }
}

function parseAll<T extends { at: number }>(lines: string[]): T[] {
  const out: T[] = [];
  for (const line of lines) {
    try {
      const v = JSON.parse(line) as T;
      if (typeof v?.at === 'number') out.push(v);
    } catch {
      // a foreign or truncated entry: not ours to show
    }
  }
  return out;
}
