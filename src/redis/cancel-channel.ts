/**
 * Cancelling a running job wherever it runs: one Redis channel per BullMQ prefix that every worker
 * child listens to (one subscription per child, nothing per job). The child that runs the job aborts
 * its processor's signal, as BullMQ's `worker.cancelJob(id)` does inside one Worker.
 */
import type { Queue } from 'bullmq';

export interface CancelRequest {
  queue: string;
  id: string;
  reason?: string;
}

/** The channel under a prefix (in a Redis Cluster, PUBLISH reaches every node's subscribers). */
export function cancelChannel(prefix: string): string {
  return `${prefix}:worker-pool:cancel`;
}

export function encodeCancel(r: CancelRequest): string {
  return JSON.stringify(r);
}

/** A message read from the channel, or undefined if it is not a cancel request. */
export function decodeCancel(raw: string): CancelRequest | undefined {
  try {
    const m = JSON.parse(raw) as Partial<CancelRequest>;
    if (typeof m.queue !== 'string' || typeof m.id !== 'string') return undefined;
    return { queue: m.queue, id: m.id, reason: typeof m.reason === 'string' ? m.reason : undefined };
  } catch {
    return undefined;
  }
}

export interface CancelOutcome {
  /** The job's state when the request went out ('unknown': no such job). Only an active job is cancelled. */
  state: string;
  /** Worker children listening on the channel (every pool on this Redis and prefix); 0 when not sent. */
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
  const listeners = Number(await client.publish(cancelChannel(queue.opts.prefix ?? 'bull'), encodeCancel({ queue: queue.name, id, reason })));
  return { state, listeners };
}
