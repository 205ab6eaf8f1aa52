/**
 * One worker child: takes jobs from the pool's queues in strict order, runs at most `concurrency`
 * of them at once across all queues, and reports its busy time to the supervisor.
 *
 * This file is the child's life: load the processor, connect, start, drain, retire, hand back,
 * close. The parts it wires together each read on their own: the fetch loop (fetcher.ts), the job
 * runner (job-runner.ts), the samples and titles (reporter.ts), and the state they share
 * (child-state.ts). Every lock token is `${tokenBase}:${n}`, so the supervisor finds this child's
 * jobs if it dies.
 */
import { LockManager, Worker, createRedisBackend, type BackendFactory, type RedisQueueBackend } from './bullmq.js';
import type { Redis } from 'ioredis';
import type { ParentMessage, WorkerSettings } from '../ipc/messages.js';
import { cancelChannel, clientDb, decodeCancel, forDb } from '../redis/cancel-channel.js';
import { connect } from '../redis/connection.js';
import { isConnectionError } from '../redis/connection-error.js';
import { createLogger, type Logger } from '../logger.js';
import { ChildState, type QueueSide, type RetireReason } from './child-state.js';
import { Fetcher } from './fetcher.js';
import { MarkerWatch } from './marker-watch.js';
import { JobRunner } from './job-runner.js';
import { LeaseFence } from './lease-fence.js';
import { loadProcessor, type LoadedProcessor } from './processor.js';
import { bullmqWorkerClientName, QueuePresence, workerName } from './presence.js';
import { Reporter, type ParentPort } from './reporter.js';
import { withTimeout } from '../timing.js';

export type { ParentPort } from './reporter.js';

/** BullMQ's Redis backend without the Worker's dedicated blocking connection (never used: fetches never block). */
const NO_BLOCKING_CONNECTION: BackendFactory<RedisQueueBackend> = (name, opts, flags) => createRedisBackend(name, opts, { ...flags, withBlockingConnection: false });

export class WorkerRuntime {
  private readonly log: Logger;
  private readonly state: ChildState;
  private readonly reporter: Reporter;
  private processor: LoadedProcessor | undefined;
  private sides: QueueSide[] = [];
  private client: Redis | undefined;
  private markers: MarkerWatch | undefined;
  /** Listens for `worker-pool cancel` on the prefix's channel. */
  private cancels: Redis | undefined;
  private presence: QueuePresence | undefined;
  private fetcher: Fetcher | undefined;
  private runner: JobRunner | undefined;
  private readonly fence: LeaseFence;

  constructor(
    private readonly settings: WorkerSettings,
    private readonly port: ParentPort,
    private readonly exit: (code: number) => void,
  ) {
    this.log = createLogger({ level: settings.logLevel, pretty: settings.logPretty, base: { pool: settings.pool, worker: settings.workerId } });
    this.state = new ChildState(settings.tokenBase, settings.maxJobs);
    this.reporter = new Reporter(settings, this.state, port);
    this.fence = new LeaseFence(settings.leaseUntil, settings.leaseFile, { log: this.log, exit, state: this.state });
  }

  /** Load the processor, connect, report ready, and run the fetch loop until drained. */
  async start(): Promise<void> {
    this.reporter.setTitle();
    // Connect while the processor module loads: the TCP and Redis handshakes overlap its import,
    // and the first fetch (a job waiting at a pool that was at zero) goes out sooner.
    const client = this.connect();
    try {
      this.processor = await loadProcessor(this.settings.processor);
      await this.processor.init?.({ pool: this.settings.pool, workerId: this.settings.workerId, queues: this.settings.queues, worker: (queue) => this.workerOf(queue) });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      client.disconnect();
      this.port.send({ type: 'load-error', message });
      this.log.error({ err: message }, 'processor failed to load');
      this.exit(70);
      return;
    }
    const s = this.settings;
    this.sides = s.queues.map((name, index) => this.openQueue(name, index, client));
    this.presence = new QueuePresence(s.prefix, s.queues, workerName(s.pool, s.workerId), (connectionName) => connect(s.redis ?? s.redisUrl, { connectionName }));
    const markers = (this.markers = new MarkerWatch({
      sides: this.sides,
      connect: (g) => connect(s.redis ?? s.redisUrl, { connectionName: `worker-pool:${s.pool}:${s.workerId}:wait${g === 0 ? '' : g + 1}` }),
      setMarker: (key) => client.zadd(key, 0, '0'),
      log: this.log,
    }));
    // Not awaited: ready goes out as soon as the queues are open; the subscription is in place
    // one round trip later, long before a job fetched now could be asked to stop.
    void this.listenForCancels(client);
    for (const side of this.sides) void side.worker.startStalledCheckTimer().catch(() => undefined);
    const runner = (this.runner = new JobRunner({
      settings: s,
      state: this.state,
      sides: this.sides,
      processor: this.processor,
      client,
      port: this.port,
      log: this.log,
      reporter: this.reporter,
      retire: (reason) => this.retire(reason),
      slotFreed: () => this.fetcher?.wake(),
      ended: () => void this.finishIfIdle(),
    }));
    this.fetcher = new Fetcher({
      settings: s,
      state: this.state,
      sides: this.sides,
      markers,
      client,
      port: this.port,
      log: this.log,
      runJob: (job, side, token) => runner.runJob(job, side, token),
    });
    this.fence.watchBlockedLoop();
    this.port.send({ type: 'ready', at: performance.now() });
    this.reporter.start();
    this.log.debug({ queues: s.queues, concurrency: s.concurrency }, 'worker ready');
    await this.fetcher.run();
    void this.finishIfIdle();
  }

  /** The child's connection for its queues (the markers' blocking connections come with the queues). */
  private connect(): Redis {
    const s = this.settings;
    // Named as BullMQ names a Worker of its first queue, so Queue.getWorkers() (and /jobs) lists it (presence.ts).
    const name = workerName(s.pool, s.workerId);
    const client = (this.client = connect(s.redis ?? s.redisUrl, { connectionName: bullmqWorkerClientName(s.prefix, s.queues[0] ?? '', name) ?? name }));
    client.on('error', (err) => this.log.debug({ err: err.message }, 'redis connection error'));
    client.on('close', () => this.state.connectionLosses++);
    return client;
  }

  /** The BullMQ Worker of one of this child's queues (ProcessorContext.worker). */
  private workerOf(queue: string): Worker {
    const side = this.sides.find((x) => x.name === queue);
    if (!side) throw new Error(`worker(${JSON.stringify(queue)}): this worker's queues are ${this.settings.queues.join(', ')}${this.sides.length === 0 ? ' (not open yet: call worker() while a job runs, not in init)' : ''}`);
    return side.worker;
  }

  /**
   * Subscribe (own connection) to the cancel channel of the prefix and database: a request for a
   * job this child runs aborts its signal. One subscription per child, nothing per job.
   */
  private async listenForCancels(client: Redis): Promise<void> {
    const sub = (this.cancels = client.duplicate({ connectionName: `worker-pool:${this.settings.pool}:${this.settings.workerId}:cancel` }));
    sub.on('error', (err) => this.log.debug({ err: err.message }, 'redis connection error (cancel channel)'));
    const db = clientDb(client);
    sub.on('message', (_channel: string, raw: string) => {
      const req = decodeCancel(raw);
      // The same job id in another database is another job (channels are server-wide).
      if (req && forDb(req, db) && this.runner?.cancel(req.queue, req.id, req.reason)) this.log.info({ queue: req.queue, jobId: req.id, reason: req.reason }, 'job cancelled: its signal aborted');
    });
    try {
      await sub.subscribe(cancelChannel(this.settings.prefix, db));
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not listen for job cancels; the subscription retries on reconnect');
    }
  }

  /**
   * A BullMQ Worker used only to fetch by hand from one queue, with the locks of the jobs it takes.
   * It shares the child's one connection and opens no blocking connection of its own (BullMQ's
   * default, one per Worker, would be 300 idle connections per child on 300 queues, each connecting
   * before that queue's first fetch): the fetcher waits on the markers on connections of its own.
   */
  private openQueue(name: string, index: number, client: Redis): QueueSide {
    const s = this.settings;
    // The module's options first (those the pool does not own, checked when it loaded), then the pool's.
    const worker = new Worker(name, null, {
      ...this.processor!.workerOptions,
      connection: client,
      prefix: s.prefix,
      autorun: false,
      lockDuration: s.lockDurationMs,
      stalledInterval: s.stalledIntervalMs,
      maxStalledCount: s.maxStalledCount,
      name: `${s.pool}:${s.workerId}`,
    }, NO_BLOCKING_CONNECTION);
    // Redis down is the supervisor's to report (once); a child only notes each failed attempt at debug.
    worker.on('error', (err) => this.log[isConnectionError(err) ? 'debug' : 'warn']({ queue: name, err: err.message }, 'bullmq worker error'));
    worker.on('stalled', (jobId) => this.port.send({ type: 'job-stalled', queue: name, id: String(jobId) }));
    const locks = new LockManager(worker as unknown as ConstructorParameters<typeof LockManager>[0], {
      lockRenewTime: s.lockDurationMs / 2,
      lockDuration: s.lockDurationMs,
      workerId: worker.id,
      workerName: worker.opts.name,
    });
    locks.start();
    return { name, index, worker, locks, markerKey: worker.keys.marker!, limited: s.limitedQueues?.includes(name) ?? false };
  }

  onParentMessage(msg: ParentMessage): void {
    switch (msg.type) {
      case 'drain':
        this.drain(msg.reason);
        break;
      case 'hand-back':
        void this.handBack();
        break;
      case 'lease':
        this.fence.extend(msg.until);
        break;
      case 'list-running':
        this.port.send({ type: 'running', nonce: msg.nonce, jobs: [...this.state.running.values()].map((r) => `${r.queue.name}:${r.job.id}`) });
        break;
      case 'start':
        break;
    }
  }

  /** The supervisor is gone: finish what is running (bounded), then exit. No orphan outlives it. */
  onParentGone(): void {
    this.log.warn('supervisor disconnected; draining');
    this.drain('supervisor gone');
    setTimeout(() => void this.handBack(), this.settings.orphanTimeoutMs).unref();
  }

  /** Stop taking jobs; exit when the running ones are done. */
  drain(reason: string): void {
    if (this.state.draining) return;
    this.state.draining = true;
    this.log.debug({ reason, running: this.state.running.size }, 'draining');
    // Wake a blocked fetch so the loop sees `draining` now, not after the block timeout.
    this.markers?.close();
    this.fetcher?.wake();
    void this.finishIfIdle();
  }

  /** Stop fetching and ask the supervisor for a successor; running jobs go on to their end. */
  private retire(reason: RetireReason): void {
    const state = this.state;
    if (state.retiring || state.draining) return;
    state.retiring = reason;
    this.log.info({ reason, started: state.started, running: state.running.size }, 'taking no more jobs; asking for a successor');
    this.markers?.close();
    this.port.send({ type: 'retire', reason });
  }

  private async finishIfIdle(): Promise<void> {
    const state = this.state;
    if (!state.draining || state.running.size > 0 || state.exiting) return;
    // A fetch under way may still take a job, which must then run; but while Redis does not answer,
    // a fetch waits for as long as the outage lasts and would hold the drain until the stop
    // deadline. It cannot take a job without Redis: leave (a job a lost reply took is returned by
    // the supervisor's hand-back, or the stalled check, as after any lost connection).
    if (state.loopFetches > 0 && this.client?.status === 'ready') return;
    state.exiting = true;
    this.reporter.setTitle();
    await this.close();
    this.exit(0);
  }

  /** Put every running job back in its queue (the lock token proves it is still ours), then exit. */
  async handBack(): Promise<void> {
    const state = this.state;
    if (state.exiting) return;
    state.exiting = true;
    state.draining = true;
    this.markers?.close();
    const jobs = [...state.running.values()];
    state.running.clear();
    // The processors of jobs handed back are told so (their signal aborts), as at a cancel.
    for (const abort of state.aborts.values()) abort.abort(new Error('worker stopping: job handed back to its queue'));
    await Promise.all(
      jobs.map(async ({ job, queue, token }) => {
        queue.locks.untrackJob(job.id!);
        try {
          await withTimeout(job.moveToWait(token), 1000);
          this.port.send({ type: 'job-returned', queue: queue.name, id: job.id! });
          this.log.info({ queue: queue.name, jobId: job.id }, 'job handed back to its queue');
        } catch (err) {
          this.log.warn({ queue: queue.name, jobId: job.id, err: (err as Error).message }, 'could not hand job back; the stalled check will recover it');
        }
      }),
    );
    await this.close();
    this.exit(jobs.length > 0 ? 75 : 0);
  }

  private async close(): Promise<void> {
    this.reporter.stop();
    if (this.client && this.client.status !== 'ready') {
      // No Redis to tell anything (locks, close): leave without waiting for it.
      this.markers?.close();
      this.presence?.close();
      this.cancels?.disconnect();
      this.client.disconnect();
      return;
    }
    await withTimeout(
      Promise.allSettled(this.sides.map(async (s) => {
        await s.locks.close();
        await s.worker.close(true);
      })),
      3000,
    ).catch(() => undefined);
    this.markers?.close();
    this.presence?.close();
    this.cancels?.disconnect();
    await withTimeout<unknown>(this.client?.quit() ?? Promise.resolve(), 1000).catch(() => this.client?.disconnect());
  }
}
