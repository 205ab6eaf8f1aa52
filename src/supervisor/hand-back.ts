/**
 * Hands a dead child's jobs back to their queues the moment it dies, instead of leaving them
 * locked until BullMQ's stalled check notices (up to lock-duration + stalled-interval later).
 *
 * Every lock token a child uses starts with the child's token base, which the supervisor gave it.
 * When the child dies, the jobs it held are those its last sample listed plus those it took after
 * that sample: BullMQ puts every job it activates at the head of the active list, so these are
 * found among the newest entries of its queues' active lists (RECENT_ACTIVE of them), whatever the
 * number of active jobs of other workers, pools or hosts. For each one, if the lock still carries
 * the child's token (so the job has not completed, failed, or passed to another worker meanwhile),
 * the job's stall counter is raised (not for a child stopped by the fleet's fence) and the job is
 * moved back to waiting with the token. A job that has lost its worker more than `maxStalledCount`
 * times fails for good instead ("its worker died N times while running it"): a poison pill cannot
 * cycle. While Redis cannot be reached the dead child's jobs are tried again every second (its
 * token base stays in the fleet registration meanwhile); BullMQ's stalled check is the safety net.
 */
import { EventEmitter } from 'node:events';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Clock } from '../clock.js';
import type { Logger } from '../logger.js';
import { settledWithin, sleep } from '../timing.js';
import { LockedJobs, RECENT_ACTIVE, type HandBackOutcome } from './locked-jobs.js';
import type { HeldJob, WorkerProcess } from './worker-process.js';

export type { HandBackOutcome } from './locked-jobs.js';

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

/** How often the jobs of a dead child are tried again while Redis cannot be reached, and for how long. */
const RETRY_MS = 1000;
const GIVE_UP_MS = 10 * 60_000;

export class HandBack extends EventEmitter<HandBackEvents> {
  private readonly pending = new Set<Promise<void>>();
  private readonly jobs: LockedJobs;

  constructor(private readonly opts: HandBackOptions) {
    super();
    this.jobs = new LockedJobs(opts);
  }

  /**
   * Return the jobs a dead child still held. Waits for the child's IPC channel to close first,
   * so the last sample it sent just before dying has been counted.
   */
  recover(worker: WorkerProcess): Promise<void> {
    return this.track(worker.closed.then(() => this.settle(worker, false)));
  }

  /**
   * A live child's fetch spanned a lost connection: jobs locked with its token that it does not
   * run (all but `keep`) were taken by a reply that never arrived. Return them; no stall counted.
   */
  returnOrphans(worker: WorkerProcess, queue: string, token: string, keep: string): Promise<void> {
    return this.track((async () => {
      const ids = (await this.jobs.find(queue, (lock) => lock === token, RECENT_ACTIVE)).map((j) => j.id);
      const since = this.opts.clock.now();
      for (const id of ids) {
        if (id === keep) continue;
        const held: HeldJob = { queue, id, name: '', token, startedAt: since };
        const outcome = await this.tryReturn(held, since, false);
        this.report(worker, outcome);
        this.emit('outcome', outcome);
      }
    })().catch((err: unknown) => this.opts.log.warn({ worker: worker.id, queue, err: (err as Error).message }, 'could not look for jobs of a fetch cut by a lost connection; the stalled check will recover them')));
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
      for (const { id, token } of await this.jobs.find(queue, (lock) => distinct.some((b) => lock.startsWith(b)))) {
        found.set(`${queue}:${id}`, { queue, id, name: '', token, startedAt: since });
      }
    }
    let returned = 0;
    let errors = 0;
    await Promise.all(
      [...found.values()].map(async (job) => {
        const outcome = await this.tryReturn(job, since);
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
    return this.track((async () => {
      const live = workers.filter((w) => w.state !== 'exited');
      const owner = (lock: string) => live.find((w) => lock.startsWith(`${w.tokenBase}:`));
      const found: Array<{ worker: WorkerProcess; job: HeldJob }> = [];
      const now = this.opts.clock.now();
      for (const queue of new Set(live.flatMap((w) => w.queues))) {
        for (const { id, token } of await this.jobs.find(queue, (lock) => owner(lock) !== undefined)) {
          found.push({ worker: owner(token)!, job: { queue, id, name: '', token, startedAt: now } });
        }
      }
      if (found.length === 0) return;
      await sleep(settleMs);
      // Each child names the jobs it runs (no message per job tells the supervisor): a locked job
      // it does not name is nobody's. A child that does not answer keeps its jobs (the stalled check).
      const running = new Map<WorkerProcess, Set<string> | undefined>();
      for (const w of new Set(found.map((f) => f.worker))) running.set(w, await w.listRunning());
      for (const { worker, job } of found) {
        const held = running.get(worker);
        if (!held || held.has(`${job.queue}:${job.id}`)) continue;
        const outcome = await this.tryReturn(job, now, false);
        this.report(worker, outcome);
        this.emit('outcome', outcome);
      }
    })().catch((err: unknown) => this.opts.log.warn({ err: (err as Error).message }, 'could not look for jobs a failover left locked; the stalled check will recover them')));
  }

  /** Resolves when every hand-back under way has ended (or `timeoutMs` passed). */
  async idle(timeoutMs = 5000): Promise<void> {
    await settledWithin(Promise.allSettled([...this.pending]), timeoutMs);
  }

  /** Count `p` among the hand-backs under way until it ends. */
  private track(p: Promise<void>): Promise<void> {
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
    return p;
  }

  /** returnOne, a failure (Redis trouble) as an 'error' outcome. */
  private tryReturn(job: HeldJob, since: number, countStall?: boolean): Promise<HandBackOutcome> {
    return this.jobs.returnOne(job, since, countStall).catch((err: unknown): HandBackOutcome => ({ kind: 'error', job, error: (err as Error).message }));
  }

  /**
   * Dead children whose jobs could not all be handed back (Redis unreachable: a child fenced while
   * Redis is down, say), with when they died: tried again every RETRY_MS until done, for at most
   * GIVE_UP_MS (by then BullMQ's stalled check has recovered them). Their token bases stay in this
   * daemon's fleet registration meanwhile, so a peer covers them if this daemon dies too.
   */
  private readonly unsettled = new Map<WorkerProcess, number>();
  private retryTimer: NodeJS.Timeout | undefined;

  /** Token bases (`${tokenBase}:`) of dead children whose jobs are still being handed back. */
  unsettledBases(): string[] {
    return [...this.unsettled.keys()].map((w) => `${w.tokenBase}:`);
  }

  private async settle(worker: WorkerProcess, retry: boolean): Promise<void> {
    if (await this.returnJobs(worker, retry)) {
      this.unsettled.delete(worker);
      worker.reported.replace([]);
      return;
    }
    const now = this.opts.clock.now();
    const since = this.unsettled.get(worker) ?? now;
    if (now - since > GIVE_UP_MS) {
      this.unsettled.delete(worker);
      return;
    }
    this.unsettled.set(worker, since);
    this.retryTimer ??= setTimeout(() => {
      this.retryTimer = undefined;
      for (const w of this.unsettled.keys()) void this.settle(w, true);
    }, RETRY_MS);
    this.retryTimer.unref();
  }

  /** Hand back what a dead child held; whether every job was settled (returned, failed or found not ours). */
  private async returnJobs(worker: WorkerProcess, retry: boolean): Promise<boolean> {
    // Newest run first: if a job ran here twice (handed back and fetched again), the later token holds its lock.
    const held = new Map<string, HeldJob>();
    for (const j of [...worker.reported.jobs()].reverse()) if (!held.has(`${j.queue}:${j.id}`)) held.set(`${j.queue}:${j.id}`, j);
    let settled = true;
    const diedAt = worker.exitedAt ?? this.opts.clock.now();
    // What its last sample listed, plus what it took after that sample: a job it fetched since is
    // among the newest entries of its queue's active list (BullMQ puts every job it activates at
    // the head), so only the head is read, whatever the number of active jobs. If the look fails,
    // the reported jobs are still tried.
    await Promise.all(
      worker.queues.map(async (queue) => {
        const found = await this.jobs.find(queue, (lock) => lock.startsWith(`${worker.tokenBase}:`), RECENT_ACTIVE).catch((err: unknown) => {
          settled = false;
          if (!retry) this.opts.log.warn({ worker: worker.id, queue, err: (err as Error).message }, "could not look for a dead worker's unreported jobs; trying again");
          return [];
        });
        for (const { id, token } of found) {
          const known = held.get(`${queue}:${id}`);
          held.set(`${queue}:${id}`, known ? { ...known, token } : { queue, id, name: '', token, startedAt: diedAt });
        }
      }),
    );
    if (held.size === 0) return settled;
    // A worker stopped by the fleet's fence did nothing wrong, nor did its jobs: no stall is counted.
    // (A stall counted before an error on a retry is counted again: the job may lose one attempt.)
    const countStall = worker.stopReason !== 'fenced';
    const left: HeldJob[] = [];
    await Promise.all(
      [...held.values()].map(async (job) => {
        const outcome = await this.tryReturn(job, diedAt, countStall);
        if (outcome.kind === 'error') left.push(job);
        if (outcome.kind !== 'error' || !retry) this.report(worker, outcome);
        this.emit('outcome', outcome);
      }),
    );
    worker.reported.replace(left);
    return settled && left.length === 0;
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
        this.opts.log.warn({ ...base, err: o.error }, "could not hand a dead worker's job back; trying again while Redis cannot be reached (BullMQ's stalled check is the safety net)");
        break;
    }
  }
}
