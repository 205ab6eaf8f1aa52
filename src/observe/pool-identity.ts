/**
 * A pool's identity: what makes two daemons the same pool. A name alone is not it (the default is
 * `default`): the identity is the BullMQ prefix, the name and the set of queues (or the queue
 * selector), so unrelated pools that share a name keep their stored history apart, while the same
 * pool restarted (another pid, another host, a new container) finds its own again.
 */
import { createHash } from 'node:crypto';
import type { PoolConfig } from '../config/load.js';

export type IdentityFacts = Pick<PoolConfig, 'prefix' | 'name' | 'queues' | 'queueSelector'>;

/** 12 hex digits of a hash of prefix, name and the sorted queues (order does not make another pool). */
export function poolIdentity(c: IdentityFacts): string {
  const facts = [c.prefix, c.name, [...new Set(c.queues)].sort(), c.queueSelector ?? null];
  return createHash('sha256').update(JSON.stringify(facts)).digest('hex').slice(0, 12);
}

/** Whether two queue lists are the same set. */
export function sameQueues(a: readonly string[], b: readonly string[]): boolean {
  const x = [...new Set(a)].sort();
  const y = [...new Set(b)].sort();
  return x.length === y.length && x.every((q, i) => q === y[i]);
}
