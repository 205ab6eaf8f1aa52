/**
 * Runs one scenario both ways: the same processor module (a) under a plain BullMQ Worker in the
 * test process and (b) under worker-pool (a real supervisor and child), each on its own prefix;
 * and reads back every job's outcome so a test can compare the two.
 */
import { pathToFileURL } from 'node:url';
import { FlowProducer, Queue, Worker, type Job, type JobState } from 'bullmq';
import { cancelJob } from '../../src/redis/cancel-channel.js';
import { fixture, startPool } from '../helpers/pool.js';
import { client, deletePrefix, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

export interface ScenarioContext {
  queue: Queue;
  flow: FlowProducer;
  /** Data every job of the fixtures may need (the processor adds children with it). */
  base: { redisUrl: string };
}

export interface Scenario {
  /** Fixture module under test/fixtures/parity/. */
  module: string;
  /** Add the jobs (before any worker runs, so order patterns are exact). */
  add(ctx: ScenarioContext): Promise<void>;
  /** Jobs that end completed or failed. */
  finished: number;
  /** While the worker runs: e.g. cancel a job. `cancel` is worker.cancelJob or `worker-pool cancel`. */
  during?(ctx: ScenarioContext & { cancel(id: string, reason: string): Promise<void> }): Promise<void>;
  /** The order jobs end in is fixed (no back-off or delay races other jobs): compare it too. */
  ordered?: boolean;
  /** Pool flags beyond the defaults (one worker, concurrency 1). */
  poolFlags?: Record<string, unknown>;
}

/** What a job ended as, without what legitimately differs between two runs (ids of repeat jobs, times). */
export interface JobOutcome {
  key: string;
  state: JobState | 'unknown';
  returnvalue: unknown;
  failedReason: string | undefined;
  attemptsMade: number;
  attemptsStarted: number;
  progress: unknown;
  logs: string[];
  /** timestamp ≤ processedOn ≤ finishedOn held (or the job never ran). */
  timesInOrder: boolean;
}

export interface RunOutcome {
  jobs: JobOutcome[];
  /** Keys of the jobs in the order they completed or failed (the queue's event stream: exact, no ties of finishedOn). */
  finishOrder: string[];
  /** processedOn of each finished job, in finish order (for rate-limit checks). */
  processedOn: number[];
  /** Each job's last start and its data, by key: times differ between runs, so they are not compared. */
  runs: Record<string, { processedOn: number | undefined; data: Record<string, unknown> }>;
}

const STATES: JobState[] = ['completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized', 'waiting-children'];
const connection = () => ({ url: redisUrl(), maxRetriesPerRequest: null }) as never;

async function outcome(queue: Queue, prefix: string): Promise<RunOutcome> {
  const all = (await queue.getJobs(STATES, 0, -1, true)).filter((j): j is Job => !!j);
  const finished = all.filter((j) => j.finishedOn).sort((a, b) => a.finishedOn! - b.finishedOn! || Number(a.id) - Number(b.id));
  const keyOf = new Map<string, string>();
  const runs: RunOutcome['runs'] = {};
  const seen = new Map<string, number>();
  const jobs: JobOutcome[] = [];
  // Same key for repeated jobs (a scheduler's iterations): number them in creation order.
  for (const j of all.sort((a, b) => a.timestamp - b.timestamp || Number(a.id) - Number(b.id))) {
    const base = `${j.name}:${(j.data as { k?: string })?.k ?? ''}`;
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    const { logs } = await queue.getJobLogs(j.id!);
    const key = n > 1 ? `${base}#${n}` : base;
    keyOf.set(j.id!, key);
    runs[key] = { processedOn: j.processedOn, data: j.data as Record<string, unknown> };
    jobs.push({
      key,
      state: await j.getState(),
      returnvalue: j.returnvalue ?? null,
      failedReason: j.failedReason || undefined,
      attemptsMade: j.attemptsMade,
      attemptsStarted: j.attemptsStarted,
      progress: j.progress,
      logs,
      timesInOrder: !j.processedOn || (j.timestamp <= j.processedOn && (!j.finishedOn || j.processedOn <= j.finishedOn)),
    });
  }
  // A failed child's name in a parent's failedReason is its Redis key (prefix, flow-made id): name the job instead.
  for (const j of jobs) {
    for (const [id, key] of keyOf) j.failedReason = j.failedReason?.replaceAll(`${prefix}:${queue.name}:${id}`, `<${key}>`);
  }
  jobs.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { jobs, finishOrder: await finishOrder(queue, prefix, keyOf), processedOn: finished.map((j) => j.processedOn ?? 0), runs };
}

/** Jobs in the order of their completed/failed events in the queue's event stream. */
async function finishOrder(queue: Queue, prefix: string, keyOf: Map<string, string>): Promise<string[]> {
  const c = client();
  try {
    const entries = (await c.xrange(`${prefix}:${queue.name}:events`, '-', '+')) as Array<[string, string[]]>;
    const order: string[] = [];
    for (const [, fields] of entries) {
      const f = new Map<string, string>();
      for (let i = 0; i + 1 < fields.length; i += 2) f.set(fields[i]!, fields[i + 1]!);
      const ev = f.get('event');
      if ((ev === 'completed' || ev === 'failed') && f.get('jobId')) order.push(keyOf.get(f.get('jobId')!) ?? `?${f.get('jobId')}`);
    }
    return order;
  } finally {
    c.disconnect();
  }
}

/** Every job has ended (none left to run) and `finished` of them are completed or failed. */
async function settled(queue: Queue, finished: number): Promise<boolean> {
  const c = await queue.getJobCounts('completed', 'failed', 'active', 'waiting', 'delayed', 'prioritized', 'waiting-children');
  return c.completed! + c.failed! >= finished && c.active! + c.waiting! + c.delayed! + c.prioritized! === 0;
}

async function withQueue<T>(prefix: string, name: string, fn: (ctx: ScenarioContext) => Promise<T>): Promise<T> {
  const queue = new Queue(name, { connection: connection(), prefix });
  const flow = new FlowProducer({ connection: connection(), prefix });
  try {
    return await fn({ queue, flow, base: { redisUrl: redisUrl() } });
  } finally {
    await queue.close();
    await flow.close();
    await deletePrefix(prefix);
  }
}

/** (a): the module's default export given to `new Worker`, with its `workerOptions`, as a BullMQ user would. */
export async function runPlain(s: Scenario, name = 'parity'): Promise<RunOutcome> {
  const file = fixture(`parity/${s.module}`);
  const mod = (await import(pathToFileURL(file).href)) as { default: (...a: unknown[]) => unknown; workerOptions?: object; init?: (ctx: unknown) => void };
  const prefix = uniquePrefix('plain');
  return withQueue(prefix, name, async (ctx) => {
    await s.add(ctx);
    const worker = new Worker(name, mod.default as never, { connection: connection(), prefix, concurrency: 1, autorun: false, ...(mod.workerOptions ?? {}) });
    mod.init?.({ pool: 'plain', workerId: 'plain', queues: [name], worker: () => worker });
    try {
      void worker.run();
      await s.during?.({ ...ctx, cancel: async (id, reason) => void worker.cancelJob(id, reason) });
      await until(() => settled(ctx.queue, s.finished), `plain ${s.module}: ${s.finished} jobs finished`, 30_000);
      return await outcome(ctx.queue, prefix);
    } finally {
      await worker.close();
    }
  });
}

/** (b): the same module as worker-pool's --processor, one worker of concurrency 1. */
export async function runPool(s: Scenario, name = 'parity'): Promise<RunOutcome> {
  const prefix = uniquePrefix('pool');
  return withQueue(prefix, name, async (ctx) => {
    await s.add(ctx);
    const pool = await startPool({ prefix, queues: name, processor: fixture(`parity/${s.module}`), concurrency: 1, 'min-workers': 1, 'max-workers': 1, ...s.poolFlags });
    try {
      await s.during?.({ ...ctx, cancel: async (id, reason) => void (await cancelJob(ctx.queue, id, reason)) });
      await until(() => settled(ctx.queue, s.finished), `pool ${s.module}: ${s.finished} jobs finished`, 30_000);
      return await outcome(ctx.queue, prefix);
    } finally {
      await pool.close();
    }
  });
}

/** Both ways at once (separate prefixes, so they cannot see each other's jobs). */
export async function runBoth(s: Scenario): Promise<{ plain: RunOutcome; pool: RunOutcome }> {
  const [plain, pool] = await Promise.all([runPlain(s), runPool(s)]);
  return { plain, pool };
}
