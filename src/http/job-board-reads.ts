/**
 * The job board's reads, bounded: bull-board asks its queue adapter for a page of jobs, one job, a
 * job's logs or a flow, and BullMQ's own getters load every job whole (its getJobs even twice), so
 * a page of 2,000 jobs or three 50 MB return values took the supervisor to 1–2 GB. This adapter
 * reads at most `maxJobs` jobs a page, and reads each job (also each node of a flow) with one script
 * that leaves out any field larger than `maxFieldBytes` (measured in Redis with HSTRLEN, so it never
 * crosses the wire) and puts a one-line note in its place. The jobs are real BullMQ Jobs, so the
 * board's actions (retry, remove, promote…), which act by id, work on them unchanged.
 */
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FlowProducer, Job, type JobType, type Queue } from 'bullmq';

export interface ReadLimits {
  /** Most jobs read for one page (bull-board's page size is clamped to it too). */
  maxJobs: number;
  /** Larger fields (data, return value, stack trace, failure reason, progress…) are left out. */
  maxFieldBytes: number;
  /** Most log lines shown of a job (its last ones). */
  maxLogLines: number;
}

export const DEFAULT_READ_LIMITS: ReadLimits = { maxJobs: 100, maxFieldBytes: 32 * 1024, maxLogLines: 1000 };

/**
 * For each job key: its fields and values, flat; a value longer than ARGV[1] bytes comes back as
 * its length (an integer), not its text. A job that no longer exists comes back as an empty list.
 */
const READ_JOBS = `
local limit = tonumber(ARGV[1])
local out = {}
for i, key in ipairs(KEYS) do
  local job = {}
  for _, f in ipairs(redis.call('HKEYS', key)) do
    local n = redis.call('HSTRLEN', key, f)
    job[#job + 1] = f
    if n > limit then job[#job + 1] = n else job[#job + 1] = redis.call('HGET', key, f) end
  end
  out[i] = job
end
return out
`;

type RawJob = Record<string, string>;

/** What reading a job needs of a queue: a BullMQ Queue, or the light queue a FlowProducer makes for each node. */
type JobQueue = Parameters<typeof Job.fromId>[0];

export class BoundedBullMQAdapter extends BullMQAdapter {
  private flows: FlowProducer | undefined;

  constructor(
    private readonly source: Queue,
    options: ConstructorParameters<typeof BullMQAdapter>[1],
    private readonly limits: ReadLimits = DEFAULT_READ_LIMITS,
  ) {
    super(source, options);
  }

  /** bull-board's flow view: a FlowProducer whose nodes are read as the jobs of a page are. */
  override async getFlowProducer(): Promise<FlowProducer> {
    if (this.flows) return this.flows;
    const limits = this.limits;
    class BoundedJob extends Job {
      static override async fromId<T = unknown, R = unknown, N extends string = string>(queue: JobQueue, id: string): Promise<Job<T, R, N> | undefined> {
        return (await readJobs(queue, [id], limits))[0] as Job<T, R, N> | undefined;
      }
    }
    class BoundedFlows extends FlowProducer {
      override get Job(): typeof Job {
        return BoundedJob as unknown as typeof Job;
      }
    }
    const backend = this.source.getBackend();
    this.flows = new BoundedFlows(this.source.opts, () => backend);
    return this.flows;
  }

  override async getJobs(statuses: Parameters<BullMQAdapter['getJobs']>[0], start = 0, end = -1): Promise<Job[]> {
    const last = end < 0 || end - start + 1 > this.limits.maxJobs ? start + this.limits.maxJobs - 1 : end;
    const ids = [...new Set(await this.source.getRanges([...new Set(statuses)] as JobType[], start, last, false))].slice(0, this.limits.maxJobs);
    return readJobs(this.source, ids, this.limits);
  }

  override async getJob(id: string): Promise<Job | undefined> {
    return (await readJobs(this.source, [id], this.limits))[0];
  }

  override async getJobLogs(id: string): Promise<string[]> {
    // The newest lines (BullMQ gives them newest first when not ascending), oldest first again.
    const { logs } = await this.source.getJobLogs(id, 0, this.limits.maxLogLines - 1, false);
    return logs.reverse().map((line) => (Buffer.byteLength(line) > this.limits.maxFieldBytes ? `${line.slice(0, this.limits.maxFieldBytes)}… (cut: the board shows ${this.limits.maxFieldBytes} bytes of a log line)` : line));
  }

}

/** The jobs of `ids` that still exist, in order, each without its oversized fields. */
async function readJobs(queue: JobQueue, ids: string[], limits: ReadLimits): Promise<Job[]> {
  if (ids.length === 0) return [];
  // The Redis backend's client is an ioredis Redis or Cluster; BullMQ's own type leaves EVAL out.
  const client = (await (queue as unknown as { backend: { client: Promise<unknown> } }).backend.client) as { eval(script: string, keys: number, ...args: Array<string | number>): Promise<unknown> };
  const keys = ids.map((id) => queue.toKey(id));
  const rows = (await client.eval(READ_JOBS, keys.length, ...keys, limits.maxFieldBytes)) as Array<Array<string | number>>;
  const jobs: Job[] = [];
  rows.forEach((flat, i) => {
    if (flat.length === 0) return;
    const raw: RawJob = {};
    const cut = new Map<string, number>();
    for (let k = 0; k < flat.length; k += 2) {
      const field = String(flat[k]);
      const value = flat[k + 1]!;
      if (typeof value === 'number') cut.set(field, value);
      else Object.defineProperty(raw, field, { value, enumerable: true, writable: true });
    }
    jobs.push(toJob(queue, ids[i]!, keys[i]!, raw, cut, limits));
  });
  return jobs;
}

function toJob(queue: JobQueue, id: string, key: string, raw: RawJob, cut: Map<string, number>, limits: ReadLimits): Job {
    const note = (field: string) => `[not shown: ${cut.get(field)} bytes, more than the ${limits.maxFieldBytes} the job board shows of a field; read it with HGET ${key} ${field}]`;
    // Each oversized field gets a note in the form the field has (a JSON text, a list, plain text).
    for (const field of cut.keys()) {
      if (field === 'data' || field === 'returnvalue' || field === 'progress') raw[field] = JSON.stringify(note(field));
      else if (field === 'stacktrace') raw[field] = JSON.stringify([note(field)]);
      else if (field === 'opts' || field === 'parent') raw[field] = field === 'opts' ? '{}' : '';
      else raw[field] = note(field);
    }
    const int = (v: string | undefined) => (v === undefined || v === '' ? undefined : parseInt(v, 10));
    const job = Job.fromJSON(
      queue,
      {
        id,
        name: raw['name'] ?? '',
        data: raw['data'] || '{}',
        opts: Job.optsFromJSON(raw['opts']),
        progress: parseJson(raw['progress'], 0),
        delay: int(raw['delay']) ?? 0,
        priority: int(raw['priority']) ?? 0,
        timestamp: int(raw['timestamp']) ?? 0,
        attemptsStarted: int(raw['ats']) ?? 0,
        attemptsMade: int(raw['attemptsMade'] ?? raw['atm']) ?? 0,
        stalledCounter: int(raw['stc']) ?? 0,
        finishedOn: int(raw['finishedOn']),
        processedOn: int(raw['processedOn']),
        repeatJobKey: raw['rjk'],
        deduplicationId: raw['deid'],
        failedReason: raw['failedReason'],
        deferredFailure: raw['defa'],
        stacktrace: raw['stacktrace'],
        returnvalue: raw['returnvalue'],
        parentKey: raw['parentKey'],
        parent: raw['parent'] ? parseJson(raw['parent'], undefined) : undefined,
        processedBy: raw['pb'],
      } as unknown as Parameters<typeof Job.fromJSON>[1],
      id,
    );
    return job;
}

function parseJson<T>(text: string | undefined, fallback: T): unknown {
  if (text === undefined || text === '') return fallback;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
