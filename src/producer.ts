/**
 * The producer API: add jobs by job type name; the catalog and the routing rules decide the queue.
 * Producers and pools must share the catalog and the rules, as GitLab's scheduling does.
 */
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import { cancelJob, type CancelOutcome } from './redis/cancel-channel.js';
import { toCatalog, type JobType } from './routing/job-type.js';
import { DEFAULT_RULES_RAW, parseRules, requireRoutes, type Route, type RoutingRule } from './routing/rules.js';

export interface ProducerOptions {
  /** An ioredis instance or connection options, as BullMQ's Queue takes them. */
  connection: ConnectionOptions;
  /** The job types: the processor module's `jobs` list (defineJob results) or plain data. */
  catalog: readonly JobType[] | { jobs: readonly JobType[] };
  /** `[selector, queue or null]` pairs, or parsed rules; default `[["*", null]]`. */
  rules?: ReadonlyArray<readonly [string, string | null]> | readonly RoutingRule[];
  /** BullMQ key prefix, as the pools' `prefix` (default `bull`). */
  prefix?: string;
}

export interface Producer {
  /** Add one job of a job type to its actual queue. */
  add(jobType: string, data: unknown, opts?: JobsOptions): Promise<{ queue: string; id: string | undefined }>;
  /** Add many jobs (of any job types); one round trip per actual queue. */
  addBulk(jobs: ReadonlyArray<{ jobType: string; data: unknown; opts?: JobsOptions }>): Promise<Array<{ queue: string; id: string | undefined }>>;
  /**
   * Cancel a running job (as `worker-pool cancel`): the worker running it, in any pool on this
   * Redis and prefix, aborts its processor's signal. `queue` is the queue `add` answered with.
   * Only an active job is cancelled; the outcome says the state it was in.
   */
  cancel(queue: string, id: string, reason?: string): Promise<CancelOutcome>;
  /** The actual queue of a job type (throws for an unknown one). */
  queueOf(jobType: string): string;
  readonly routes: ReadonlyMap<string, Route>;
  close(): Promise<void>;
}

export class UnknownJobTypeError extends Error {
  override readonly name = 'UnknownJobTypeError';
}

function isParsed(rules: ProducerOptions['rules']): rules is readonly RoutingRule[] {
  return Array.isArray(rules) && rules.length > 0 && typeof rules[0] === 'object' && !Array.isArray(rules[0]);
}

export function createProducer(o: ProducerOptions): Producer {
  const catalog = toCatalog(Array.isArray(o.catalog) ? o.catalog : (o.catalog as { jobs: readonly JobType[] }).jobs);
  const rules = o.rules === undefined ? parseRules(DEFAULT_RULES_RAW) : isParsed(o.rules) ? o.rules : parseRules(o.rules);
  const routes = requireRoutes(catalog, rules);
  const queues = new Map<string, Queue>();
  const prefix = o.prefix ?? 'bull';

  const queueOf = (jobType: string): string => {
    const r = routes.get(jobType);
    if (!r) throw new UnknownJobTypeError(`unknown job type "${jobType}"; the catalog has ${[...routes.keys()].join(', ')}`);
    return r.actual;
  };
  const queue = (name: string): Queue => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: o.connection, prefix });
      queues.set(name, q);
    }
    return q;
  };

  return {
    routes,
    queueOf,
    async add(jobType, data, opts) {
      const name = queueOf(jobType);
      const job = await queue(name).add(jobType, data, opts);
      return { queue: name, id: job.id };
    },
    async addBulk(jobs) {
      const byQueue = new Map<string, number[]>();
      jobs.forEach((j, i) => {
        const name = queueOf(j.jobType);
        byQueue.set(name, [...(byQueue.get(name) ?? []), i]);
      });
      const out = new Array<{ queue: string; id: string | undefined }>(jobs.length);
      for (const [name, idx] of byQueue) {
        const added = await queue(name).addBulk(idx.map((i) => ({ name: jobs[i]!.jobType, data: jobs[i]!.data, opts: jobs[i]!.opts })));
        added.forEach((job, k) => (out[idx[k]!] = { queue: name, id: job.id }));
      }
      return out;
    },
    cancel(name, id, reason) {
      return cancelJob(queue(name), id, reason);
    },
    async close() {
      await Promise.all([...queues.values()].map((q) => q.close()));
      queues.clear();
    },
  };
}
