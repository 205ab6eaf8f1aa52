/**
 * `migrate-jobs` work: after the routing rules change, move the jobs whose actual queue changed
 * from the queue they sit in to their new one, batch by batch, each move atomic (move-job.ts).
 * Delayed jobs (scheduled, and retries waiting out their back-off) always; waiting and
 * prioritized jobs when asked. Running jobs are never touched: they finish where they are.
 */
import type { Redis } from 'ioredis';
import { masters } from '../redis/connection.js';
import { journalKey, moveJobs, type MovableState, type MoveRequest } from './move-job.js';

/** States as reported: a delayed job that has already been tried is a retry waiting out its back-off. */
export type ReportedState = 'delayed' | 'retrying' | 'waiting' | 'prioritized';

export interface QueueStateCounts {
  /** Moved now (or would be, with dryRun). */
  moved: number;
  /** Gone before its turn: a worker took it, or it came due and went to wait. */
  gone: number;
  /** Part of a flow or made by a job scheduler: left where it is. */
  kept: number;
  /** Moved under `<old queue>-<id>` because its id was taken in the new queue. */
  renamed: number;
}

export interface MigrationReport {
  /** "<from> → <to>" → state → counts. */
  moves: Map<string, Map<ReportedState, QueueStateCounts>>;
  /** Jobs whose name is no job type of the catalog, per queue (left in place). */
  unknown: Map<string, number>;
  /** Jobs moved by all runs so far (the journal's size). */
  journalTotal: number;
}

export interface MigrateOptions {
  client: Redis;
  prefix: string;
  /** Job type name → actual queue. */
  actualQueue: ReadonlyMap<string, string>;
  /** Queues to look in. */
  queues: readonly string[];
  includeWaiting: boolean;
  dryRun: boolean;
  batchSize: number;
  /** Pause between batches, to spare a busy Redis (milliseconds). */
  batchPauseMs: number;
  now: () => number;
  onProgress?: (done: number, total: number) => void;
}

interface Candidate {
  queue: string;
  state: MovableState;
  id: string;
}

async function listIds(client: Redis, prefix: string, queue: string, state: MovableState): Promise<string[]> {
  const key = `${prefix}:${queue}:${state}`;
  if (state === 'wait') return (await client.lrange(key, 0, -1)).reverse(); // oldest first
  return client.zrange(key, '0', '-1'); // delayed: soonest due first; prioritized: highest priority first
}

function counts(report: MigrationReport, from: string, to: string, state: ReportedState): QueueStateCounts {
  const k = `${from} → ${to}`;
  let byState = report.moves.get(k);
  if (!byState) report.moves.set(k, (byState = new Map()));
  let c = byState.get(state);
  if (!c) byState.set(state, (c = { moved: 0, gone: 0, kept: 0, renamed: 0 }));
  return c;
}

export async function migrateJobs(o: MigrateOptions): Promise<MigrationReport> {
  const report: MigrationReport = { moves: new Map(), unknown: new Map(), journalTotal: 0 };
  const states: MovableState[] = o.includeWaiting ? ['delayed', 'prioritized', 'wait'] : ['delayed'];
  const candidates: Candidate[] = [];
  for (const queue of o.queues) {
    for (const state of states) {
      for (const id of await listIds(o.client, o.prefix, queue, state)) candidates.push({ queue, state, id });
    }
  }
  let done = 0;
  o.onProgress?.(0, candidates.length);
  for (let i = 0; i < candidates.length; i += o.batchSize) {
    const batch = candidates.slice(i, i + o.batchSize);
    const read = o.client.pipeline();
    for (const c of batch) read.hmget(`${o.prefix}:${c.queue}:${c.id}`, 'name', 'atm');
    const fields = ((await read.exec()) ?? []).map(([err, v]) => {
      if (err) throw err;
      return v as [string | null, string | null];
    });
    const requests: Array<MoveRequest & { reported: ReportedState }> = [];
    batch.forEach((c, k) => {
      const [name, atm] = fields[k]!;
      if (name === null) return; // already gone
      const to = o.actualQueue.get(name);
      if (to === undefined) {
        report.unknown.set(c.queue, (report.unknown.get(c.queue) ?? 0) + 1);
        return;
      }
      if (to === c.queue) return;
      const reported: ReportedState = c.state === 'wait' ? 'waiting' : c.state === 'prioritized' ? 'prioritized' : Number(atm ?? 0) > 0 ? 'retrying' : 'delayed';
      requests.push({ state: c.state, from: c.queue, to, id: c.id, reported });
    });
    if (o.dryRun) {
      for (const r of requests) counts(report, r.from, r.to, r.reported).moved++;
    } else if (requests.length > 0) {
      const outcomes = await moveJobs(o.client, o.prefix, requests, o.now());
      outcomes.forEach((out, k) => {
        const r = requests[k]!;
        const c = counts(report, r.from, r.to, r.reported);
        if (out.code === 'moved') {
          c.moved++;
          if (out.id !== r.id) c.renamed++;
        } else if (out.code === 'gone') c.gone++;
        else c.kept++;
      });
    }
    done += batch.length;
    o.onProgress?.(done, candidates.length);
    if (o.batchPauseMs > 0 && i + o.batchSize < candidates.length) await new Promise((r) => setTimeout(r, o.batchPauseMs));
  }
  report.journalTotal = await o.client.hlen(journalKey(o.prefix));
  return report;
}

/**
 * Queue names that exist under a prefix in Redis (SCAN for BullMQ's `meta` and `id` keys), on
 * every master of a cluster: a SCAN sent to a cluster client reaches one node only.
 */
export async function discoverQueues(client: Redis, prefix: string): Promise<string[]> {
  const found = new Set<string>();
  for (const node of masters(client)) for (const suffix of ['meta', 'id']) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', `${prefix}:*:${suffix}`, 'COUNT', 1000);
      cursor = next;
      for (const key of keys) {
        const name = key.slice(prefix.length + 1, -(suffix.length + 1));
        if (name !== '' && !name.includes(':')) found.add(name);
      }
    } while (cursor !== '0');
  }
  return [...found].sort();
}

export interface QueueLoad {
  waiting: number;
  prioritized: number;
  delayed: number;
  active: number;
}

/** How many jobs a queue still holds, by state (one round trip for all queues). */
export async function queueLoads(client: Redis, prefix: string, queues: readonly string[]): Promise<Map<string, QueueLoad>> {
  const pipe = client.pipeline();
  for (const q of queues) {
    pipe.llen(`${prefix}:${q}:wait`).zcard(`${prefix}:${q}:prioritized`).zcard(`${prefix}:${q}:delayed`).llen(`${prefix}:${q}:active`);
  }
  const r = ((await pipe.exec()) ?? []).map(([err, v]) => {
    if (err) throw err;
    return Number(v);
  });
  return new Map(queues.map((q, i) => [q, { waiting: r[4 * i]!, prioritized: r[4 * i + 1]!, delayed: r[4 * i + 2]!, active: r[4 * i + 3]! }]));
}
