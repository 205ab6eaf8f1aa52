/**
 * Hands a dead child's jobs back to their queues the moment it dies, instead of leaving them
 * locked until BullMQ's stalled check notices (up to lock-duration + stalled-interval later).
 *
 * Every lock token a child uses starts with the child's token base, which the supervisor gave it.
 * When the child dies, the jobs it held are those it reported starting plus every active job whose
 * lock starts with that base (a look at each of its queues' active lists and their locks): this also finds a job
 * a fetch took in the instant before the death, before the child could report it. For each one, if
 * the lock still carries the child's token (so the job has not completed, failed, or passed to
 * another worker meanwhile), the job's stall counter is raised and the job is moved back to
 * waiting with the token. A job that has lost its worker more than `maxStalledCount` times fails
 * for good instead ("its worker died N times while running it"): a poison pill cannot cycle.
 * Anything this cannot do (Redis down, the supervisor itself dead) is left to the stalled check.
 */
import { EventEmitter } from 'node:events';
import { Job, UnrecoverableError, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import type { HeldJob, WorkerProcess } from './worker-process.js';
import { withTimeout } from '../timing.js';

/**
 * Raise the stall count only while the dead child's token still holds the lock (atomic). Its keys
 * are all in KEYS and share the queue's slot, as Redis Cluster requires.
 */
const COUNT_IF_STILL_OURS = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return -1 end
return redis.call('HINCRBY', KEYS[1], 'stc', 1)
`;

/** Lock keys read per round trip when looking for a child's jobs. */
const LOCK_BATCH = 500;

/**
 * How many of a queue's newest active jobs are read to find those a child took after its last
 * sample (a sample follows every job start within 20 ms, so these are the jobs of its last instant):
 * the cost of a hand-back does not grow with the active jobs of other workers, pools or hosts.
 */
export const RECENT_ACTIVE = 1000;

export type HandBackOutcome =
  /** Back in waiting; `ms` from the child's death (or from a dead host's lease running out: `how` 'host'). */
  | { kind: 'returned'; job: HeldJob; ms: number; deaths: number; how?: 'host' }
  /** Died with its worker too often: failed with a reason. */
  | { kind: 'failed'; job: HeldJob; deaths: number; reason: string }
  /** Completed, failed, removed or re-taken meanwhile: nothing to do. */
  | { kind: 'not-ours'; job: HeldJob }
  /** Redis refused or was unreachable: the stalled check will recover it. */
  | { kind: 'error'; job: HeldJob; error: string };

export interface HandBackEvents {
  outcome: [HandBackOutcome];
}

export interface HandBackOptions {
  client: Redis;
  prefix: string;
  queue: (name: string) => Queue | undefined;
  maxStalledCount: number;
  clock: Clock;
  log: Logger;
  /** Give up on one job after this long (Redis unreachable): the stalled check takes over. */
  timeoutMs?: number;
}

export class HandBack extends EventEmitter<HandBackEvents> {
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly opts: HandBackOptions) {
    super();
  }

  /**
   * Return the jobs a dead child still held. Waits for the child's IPC channel to close first,
   * so the last sample it sent just before dying has been counted.
   */
  recover(worker: WorkerProcess): Promise<void> {
    const p = worker.closed.then(() => this.returnJobs(worker));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  /**
   * A live child's fetch spanned a lost connection: jobs locked with its token that it does not
   * run (all but `keep`) were taken by a reply that never arrived. Return them; no stall counted.
   */
  async returnOrphans(worker: WorkerProcess, queue: string, token: string, keep: string): Promise<void> {
    const p = (async () => {
      const ids = (await this.findLocked(queue, (lock) => lock === token, RECENT_ACTIVE)).map((j) => j.id);
      const since = this.opts.clock.now();
      for (const id of ids) {
        if (id === keep) continue;
        const held: HeldJob = { queue, id, name: '', token, startedAt: since };
        const outcome = await this.returnOne(held, since, false).catch((err: unknown): HandBackOutcome => ({ kind: 'error', job: held, error: (err as Error).message }));
        this.report(worker, outcome);
        this.emit('outcome', outcome);
      }
    })().catch((err: unknown) => this.opts.log.warn({ worker: worker.id, queue, err: (err as Error).message }, 'could not look for jobs of a fetch cut by a lost connection; the stalled check will recover them'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  /**
   * A dead host's jobs (the fleet registration a peer claimed): every active job of `queues` whose
   * lock starts with one of `bases`, moved back exactly as a dead child's are (lock-checked, stall
   * counted). `since` is when the host's lease ran out (monotonic ms), for the recovery time.
   * Resolves to the jobs returned; rejects if any could not be settled (Redis trouble), so that the
   * registration is left for another try.
   */
  async recoverHost(host: string, queues: readonly string[], bases: readonly string[], since: number): Promise<number> {
    // A base that another in the list starts with is covered by that one's scan.
    const distinct = bases.filter((b) => b !== '' && !bases.some((o) => o !== b && o !== '' && b.startsWith(o)));
    const found = new Map<string, HeldJob>();
    for (const queue of queues) {
      for (const { id, token } of await this.findLocked(queue, (lock) => distinct.some((b) => lock.startsWith(b)))) {
        found.set(`${queue}:${id}`, { queue, id, name: '', token, startedAt: since });
      }
    }
    let returned = 0;
    let errors = 0;
    await Promise.all(
      [...found.values()].map(async (job) => {
        const outcome = await this.returnOne(job, since).catch((err: unknown): HandBackOutcome => ({ kind: 'error', job, error: (err as Error).message }));
        const o: HandBackOutcome = outcome.kind === 'returned' ? { ...outcome, how: 'host' } : outcome;
        if (o.kind === 'returned') returned++;
        if (o.kind === 'error') errors++;
        this.reportHost(host, o);
        this.emit('outcome', o);
      }),
    );
    if (errors > 0) throw new Error(`${errors} of ${found.size} jobs of ${host} could not be handed back`);
    return returned;
  }

  private reportHost(host: string, o: HandBackOutcome): void {
    const base = { host, queue: o.job.queue, jobId: o.job.id };
    if (o.kind === 'returned') this.opts.log.info({ ...base, ms: Math.round(o.ms), deaths: o.deaths }, "dead host's job handed back to its queue");
    else if (o.kind === 'failed') this.opts.log.error({ ...base, deaths: o.deaths }, `job failed: ${o.reason}`);
    else if (o.kind === 'error') this.opts.log.warn({ ...base, err: o.error }, "could not hand a dead host's job back; trying again later");
  }

  /**
   * After a failover: return the jobs locked with a live child's token that the child does not
   * run. A demoted master may have accepted a completion (or a fetch) and lost it with its data:
   * the job is then active on the new master, locked by a worker that has moved on, until the
   * lock expires and BullMQ's stalled check finds it (lock-duration + stalled-interval). A job
   * found so is looked at again after `settleMs`, when the child names the jobs it runs (a fetch
   * under way has reached it by then). No stall is counted: the job did nothing wrong.
   */
  returnUnheld(workers: readonly WorkerProcess[], settleMs = 1000): Promise<void> {
    const p = (async () => {
      const live = workers.filter((w) => w.state !== 'exited');
      const owner = (lock: string) => live.find((w) => lock.startsWith(`${w.tokenBase}:`));
      const found: Array<{ worker: WorkerProcess; job: HeldJob }> = [];
      const now = this.opts.clock.now();
      for (const queue of new Set(live.flatMap((w) => w.queues))) {
        for (const { id, token } of await this.findLocked(queue, (lock) => owner(lock) !== undefined)) {
          found.push({ worker: owner(token)!, job: { queue, id, name: '', token, startedAt: now } });
        }
      }
      if (found.length === 0) return;
      await new Promise((r) => setTimeout(r, settleMs));
      // Each child names the jobs it runs (no message per job tells the supervisor): a locked job
      // it does not name is nobody's. A child that does not answer keeps its jobs (the stalled check).
      const running = new Map<WorkerProcess, Set<string> | undefined>();
      for (const w of new Set(found.map((f) => f.worker))) running.set(w, await w.listRunning());
      for (const { worker, job } of found) {
        const held = running.get(worker);
        if (!held || held.has(`${job.queue}:${job.id}`)) continue;
        const outcome = await this.returnOne(job, now, false).catch((err: unknown): HandBackOutcome => ({ kind: 'error', job, error: (err as Error).message }));
        this.report(worker, outcome);
        this.emit('outcome', outcome);
      }
    })().catch((err: unknown) => this.opts.log.warn({ err: (err as Error).message }, 'could not look for jobs a failover left locked; the stalled check will recover them'));
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  /** Resolves when every hand-back under way has ended (or `timeoutMs` passed). */
  async idle(timeoutMs = 5000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.allSettled([...this.pending]), new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
  }

  private async returnJobs(worker: WorkerProcess): Promise<void> {
    // Newest run first: if a job ran here twice (handed back and fetched again), the later token holds its lock.
    const held = new Map<string, HeldJob>();
    for (const j of [...worker.running].reverse()) if (!held.has(`${j.queue}:${j.id}`)) held.set(`${j.queue}:${j.id}`, j);
    worker.running = [];
    const diedAt = worker.exitedAt ?? this.opts.clock.now();
    // What its last sample listed, plus what it took after that sample: a job it fetched since is
    // among the newest entries of its queue's active list (BullMQ puts every job it activates at
    // the head), so only the head is read, whatever the number of active jobs. If the look fails,
    // the reported jobs are still tried.
    await Promise.all(
      worker.queues.map(async (queue) => {
        const found = await this.findLocked(queue, (lock) => lock.startsWith(`${worker.tokenBase}:`), RECENT_ACTIVE).catch((err: unknown) => {
          this.opts.log.warn({ worker: worker.id, queue, err: (err as Error).message }, "could not look for a dead worker's unreported jobs; the stalled check will recover them");
          return [];
        });
        for (const { id, token } of found) {
          const known = held.get(`${queue}:${id}`);
          held.set(`${queue}:${id}`, known ? { ...known, token } : { queue, id, name: '', token, startedAt: diedAt });
        }
      }),
    );
    if (held.size === 0) return;
    // A worker stopped by the fleet's fence did nothing wrong, nor did its jobs: no stall is counted.
    const countStall = worker.stopReason !== 'fenced';
    await Promise.all(
      [...held.values()].map(async (job) => {
        const outcome = await this.returnOne(job, diedAt, countStall).catch((err: unknown): HandBackOutcome => ({ kind: 'error', job, error: (err as Error).message }));
        this.report(worker, outcome);
        this.emit('outcome', outcome);
      }),
    );
  }

  /**
   * The active jobs of `queue` whose lock token passes `mine`, with their tokens: the active list
   * (its first `limit` entries, the newest, when given), then the locks of its jobs (MGET, in
   * batches). Not one script: a script must name every key it touches in KEYS (Redis Cluster), and
   * the lock keys are known only from the list. Not atomic, and need not be: the jobs looked for
   * are those of a dead child or of a fetch that has ended, so none of them enters the active list
   * after it is read, and each one found is checked again atomically (COUNT_IF_STILL_OURS,
   * BullMQ's token check) before it is moved.
   */
  private async findLocked(queue: string, mine: (lock: string) => boolean, limit?: number): Promise<Array<{ id: string; token: string }>> {
    const base = `${this.opts.prefix}:${queue}:`;
    const ids = await this.bounded(this.opts.client.lrange(`${base}active`, 0, limit === undefined ? -1 : limit - 1));
    const out: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < ids.length; i += LOCK_BATCH) {
      const batch = ids.slice(i, i + LOCK_BATCH);
      const locks = await this.bounded(this.opts.client.mget(...batch.map((id) => `${base}${id}:lock`)));
      batch.forEach((id, k) => {
        const lock = locks[k];
        if (lock && mine(lock)) out.push({ id, token: lock });
      });
    }
    return out;
  }

  private async returnOne(held: HeldJob, diedAt: number, countStall = true): Promise<HandBackOutcome> {
    const queue = this.opts.queue(held.queue);
    if (!queue) return { kind: 'error', job: held, error: `queue ${held.queue} is not one of this pool's` };
    const jobKey = `${this.opts.prefix}:${held.queue}:${held.id}`;
    const deaths = countStall ? Number(await this.bounded(this.opts.client.eval(COUNT_IF_STILL_OURS, 2, jobKey, `${jobKey}:lock`, held.token))) : 0;
    if (deaths < 0) return { kind: 'not-ours', job: held };
    const job = await this.bounded(Job.fromId(queue, held.id));
    if (!job) return { kind: 'not-ours', job: held };
    if (deaths > this.opts.maxStalledCount) {
      const reason = `its worker died ${deaths} times while running it (max-stalled-count ${this.opts.maxStalledCount})`;
      await this.bounded(job.moveToFailed(new UnrecoverableError(reason), held.token, false));
      return { kind: 'failed', job: held, deaths, reason };
    }
    try {
      await this.bounded(job.moveToWait(held.token));
    } catch (err) {
      // The lock moved on between the count and the move (it expired and another worker took it).
      if (/lock/i.test((err as Error).message)) return { kind: 'not-ours', job: held };
      throw err;
    }
    return { kind: 'returned', job: held, ms: this.opts.clock.now() - diedAt, deaths };
  }

  private report(worker: WorkerProcess, o: HandBackOutcome): void {
    const base = { worker: worker.id, pid: worker.pid, queue: o.job.queue, jobId: o.job.id, name: o.job.name };
    switch (o.kind) {
      case 'returned':
        this.opts.log.info({ ...base, ms: Math.round(o.ms), deaths: o.deaths }, "dead worker's job handed back to its queue");
        break;
      case 'failed':
        this.opts.log.error({ ...base, deaths: o.deaths }, `job failed: ${o.reason}`);
        break;
      case 'not-ours':
        this.opts.log.debug(base, "dead worker's job had already finished or moved on; left alone");
        break;
      case 'error':
        this.opts.log.warn({ ...base, err: o.error }, "could not hand a dead worker's job back; BullMQ's stalled check will recover it");
        break;
    }
  }

  private bounded<T>(p: Promise<T>): Promise<T> {
    const ms = this.opts.timeoutMs ?? 5000;
    return withTimeout(p, ms, `Redis did not answer within ${ms} ms`);
  }
}
