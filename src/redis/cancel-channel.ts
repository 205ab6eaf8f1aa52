/**
 * Cancelling a running job wherever it runs: one Redis channel per BullMQ prefix and database that
 * every worker child listens to (one subscription per child, nothing per job). The child that runs
 * the job aborts its processor's signal, as BullMQ's `worker.cancelJob(id)` does inside one Worker.
 * Pub/sub channels are server-wide, not per database, so the database is in the channel's name and
 * in the message, and a child acts only on requests for its own.
 */
import type { Queue } from 'bullmq';

export interface CancelRequest {
  queue: string;
  id: string;
  reason?: string;
  /** The database the job is in (absent from senders before this field existed: database 0). */
  db?: number;
}

/**
 * The channel of a prefix and database (in a Redis Cluster, database 0, PUBLISH reaches every
 * node's subscribers). Database 0 keeps the name it always had.
 */
export function cancelChannel(prefix: string, db = 0): string {
  return db === 0 ? `${prefix}:worker-pool:cancel` : `${prefix}:worker-pool:cancel:db${db}`;
}

/** The database an ioredis client is connected to (a Cluster has only database 0). */
export function clientDb(client: unknown): number {
  const db = (client as { options?: { db?: unknown } }).options?.db;
  return typeof db === 'number' && Number.isInteger(db) ? db : 0;
}

/** Whether a request read from the channel is for a job of this database. */
export function forDb(r: CancelRequest, db: number): boolean {
  return (r.db ?? 0) === db;
}

export function encodeCancel(r: CancelRequest): string {
  return JSON.stringify(r);
}

/** A message read from the channel, or undefined if it is not a cancel request. */
export function decodeCancel(raw: string): CancelRequest | undefined {
  try {
    const m = JSON.parse(raw) as Partial<CancelRequest>;
    if (typeof m.queue !== 'string' || typeof m.id !== 'string') return undefined;
    return { queue: m.queue, id: m.id, reason: typeof m.reason === 'string' ? m.reason : undefined, ...(typeof m.db === 'number' ? { db: m.db } : {}) };
  } catch {
    return undefined;
  }
}

export interface CancelOutcome {
  /** The job's state when the request went out ('unknown': no such job). Only an active job is cancelled. */
  state: string;
  /** Worker children listening on the channel (every pool on this Redis, database and prefix); 0 when not sent. */
  listeners: number;
}

/**
 * Ask every worker child on `queue`'s Redis and prefix to abort the signal of job `id`, if it runs it.
 * Sent only while the job is active; a processor that ignores its signal is left to its time limit.
 */
export async function cancelJob(queue: Queue, id: string, reason?: string): Promise<CancelOutcome> {
  const state = await queue.getJobState(id);
  if (state !== 'active') return { state, listeners: 0 };
  // The Redis backend's client is an ioredis Redis or Cluster; BullMQ's own type leaves PUBLISH out.
  const client = (await queue.backend.client) as unknown as { publish(channel: string, message: string): Promise<number> };
  const db = clientDb(client);
  const listeners = Number(await client.publish(cancelChannel(queue.opts.prefix ?? 'bull', db), encodeCancel({ queue: queue.name, id, reason, db })));
  return { state, listeners };
}
