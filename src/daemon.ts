/**
 * The composition root: one per process. Wires the clock, logger, supervisor, control loop,
 * queue probe, metrics and HTTP server for one pool, and stops them in order.
 */
import type { AddressInfo } from 'node:net';
import { systemClock, type Clock } from './clock.js';
import { redactUrl, type PoolConfig } from './config/load.js';
import { EventStream } from './observe/event-stream.js';
import { History } from './observe/history.js';
import { HttpServer, sendJson, sendText } from './observe/http.js';
import { LIVE_PAGE_HTML } from './observe/live-page.js';
import { createLogger, wantsPretty, type Logger } from './observe/logger.js';
import { createMetrics } from './observe/metrics.js';
import { buildInfo, registerQueueMetrics } from './observe/queue-metrics.js';
import { QueueProbe, type QueueCounts } from './observe/queue-probe.js';
import { DEFAULT_BACKOFF } from './policy/backoff.js';
import { selectPolicy } from './policy/select.js';
import type { ScalePolicy } from './policy/types.js';
import { planReload, type ReloadPlan } from './config/reload-plan.js';
import type { WorkerSettings } from './ipc/messages.js';
import { GlobalConcurrency } from './redis/global-concurrency.js';
import { ArrivalWatch } from './supervisor/arrival-watch.js';
import { ControlLoop, type DecisionRecord } from './supervisor/control-loop.js';
import { HandBack } from './supervisor/hand-back.js';
import { PoolDemand } from './supervisor/pool-demand.js';
import { Rollout } from './supervisor/rollout.js';
import { Supervisor } from './supervisor/supervisor.js';

export interface DaemonOptions {
  config: PoolConfig;
  log?: Logger;
  clock?: Clock;
  policy?: ScalePolicy;
  workerEntry?: string;
}

export interface WorkerStatus {
  id: string;
  pid: number | undefined;
  state: string;
  busy: number;
  concurrency: number;
  processed: number;
  failed: number;
  rssBytes: number;
  uptimeSeconds: number;
}

export interface PoolStatus {
  pool: string;
  version: string;
  redis: { url: string; up: boolean };
  queues: string[];
  concurrency: number;
  globalConcurrency: Record<string, number>;
  minWorkers: number;
  maxWorkers: number;
  desiredWorkers: number;
  runningWorkers: number;
  fatalSlots: Array<{ id: string; failedStarts: number; retryInSeconds: number; lastError: string | undefined }>;
  utilization: number | null;
  utilizationThreshold: number;
  scalingPeriodSeconds: number;
  windowSeconds: number;
  ready: boolean;
  workers: WorkerStatus[];
  decisions: DecisionRecord[];
  queueCounts: Record<string, QueueCounts> | null;
  /** Per queue: seconds the oldest runnable job has waited (null when Redis did not answer). */
  queueOldestAgeSeconds: Record<string, number> | null;
  pausedQueues: string[];
  lastReload: ReloadRecord | null;
}

/** The outcome of the last reload (SIGHUP), for logs and /status. */
export interface ReloadRecord {
  /** Epoch ms. */
  at: number;
  ok: boolean;
  changed: string[];
  needRestart: string[];
  error?: string;
}

/** What every worker child gets, from the pool's config. */
export function workerSettings(c: PoolConfig): Omit<WorkerSettings, 'workerId' | 'tokenBase'> {
  return {
    pool: c.name,
    redisUrl: c.redisUrl,
    prefix: c.prefix,
    queues: c.queues,
    limitedQueues: Object.keys(c.globalConcurrency),
    processor: c.processor ?? '',
    concurrency: c.concurrency,
    sampleIntervalMs: c.sampleInterval * 1000,
    orphanTimeoutMs: c.stopTimeout * 1000,
    logLevel: c.logLevel,
    logPretty: wantsPretty(c.logFormat),
    lockDurationMs: c.lockDuration * 1000,
    stalledIntervalMs: c.stalledInterval * 1000,
    maxStalledCount: c.maxStalledCount,
    jobTimeoutMs: (c.jobTimeout ?? 0) * 1000,
    maxJobs: c.maxJobsPerWorker ?? 0,
  };
}

export const VERSION = '0.1.0';

export class Daemon {
  readonly log: Logger;
  readonly supervisor: Supervisor;
  readonly loop: ControlLoop;
  /** At zero workers, wakes the pool when a job arrives instead of at the next period. */
  private readonly arrivals: ArrivalWatch;
  readonly probe: QueueProbe;
  readonly handBack: HandBack;
  readonly events: EventStream;
  readonly history: History;
  readonly globalConcurrency: GlobalConcurrency;
  readonly rollout: Rollout;
  lastReload: ReloadRecord | undefined;
  private readonly clock: Clock;
  private readonly http: HttpServer;
  private address: AddressInfo | undefined;
  private titleTimer: NodeJS.Timeout | undefined;
  private stopped: Promise<{ forced: boolean }> | undefined;
  private forceResolve: (() => void) | undefined;
  private resolveDone: ((r: { forced: boolean }) => void) | undefined;
  /** Resolves once the daemon has stopped (after a stop() call, e.g. from a signal). */
  readonly done: Promise<{ forced: boolean }> = new Promise((resolve) => (this.resolveDone = resolve));

  constructor(private readonly opts: DaemonOptions) {
    const c = opts.config;
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log ?? createLogger({ level: c.logLevel, pretty: wantsPretty(c.logFormat), base: { pool: c.name } });
    this.supervisor = new Supervisor({
      settings: workerSettings(c),
      backoff: { ...DEFAULT_BACKOFF, startMs: c.startSeconds * 1000, retries: c.startRetries, fatalCooldownMs: c.fatalCooldown * 1000 },
      windowMs: c.window * 1000,
      clock: this.clock,
      log: this.log,
      workerEntry: opts.workerEntry,
      maxJobsPerWorker: c.maxJobsPerWorker,
      maxMemoryMb: c.maxMemoryMb,
    });
    this.probe = new QueueProbe(c.redisUrl, c.prefix, c.queues, c.name, () => this.clock.wallNow());
    this.loop = new ControlLoop(
      this.supervisor,
      opts.policy ?? selectPolicy(c),
      { minWorkers: c.minWorkers, maxWorkers: c.maxWorkers, threshold: c.utilizationThreshold, scalingPeriodMs: c.scalingPeriod * 1000 },
      this.clock,
      this.log,
      new PoolDemand(this.supervisor, this.probe, this.clock, c.window * 1000),
    );
    this.arrivals = new ArrivalWatch({
      connect: () => this.probe.client.duplicate({ connectionName: `worker-pool:${c.name}:arrivals`, maxRetriesPerRequest: null }),
      prefix: c.prefix,
      queues: c.queues,
      atZero: () => this.supervisor.desired === 0 && this.loop.running,
      decide: () => this.loop.decideNow(),
      log: this.log,
    });
    this.loop.onDecision((d) => d.workersAfter === 0 && this.arrivals.arm());
    this.globalConcurrency = new GlobalConcurrency(this.probe.client, c.prefix, this.log);
    this.rollout = new Rollout(this.supervisor, this.log);
    // Every period, put back a global limit that Redis lost or another pool changed.
    this.loop.onDecision(() => void this.globalConcurrency.check().catch((err: Error) => this.log.debug({ err: err.message }, 'global concurrency check failed')));
    this.handBack = new HandBack({ client: this.probe.client, prefix: c.prefix, queue: (q) => this.probe.queue(q), maxStalledCount: c.maxStalledCount, clock: this.clock, log: this.log });
    this.supervisor.on('worker-exit', (e) => void this.handBack.recover(e.worker));
    this.supervisor.on('worker-message', (w, m) => m.type === 'fetch-uncertain' && void this.handBack.returnOrphans(w, m.queue, m.token, m.keep));
    const metrics = createMetrics(c.name, this.supervisor, this.loop, this.handBack, c.metricsQueues);
    registerQueueMetrics(metrics.registry, this.probe, buildInfo(VERSION), c.metricsQueues);
    this.events = new EventStream({ pool: c.name, redisUrl: c.redisUrl, prefix: c.prefix, queues: c.queues }, this.supervisor, this.loop, this.log, () => this.clock.wallNow());
    this.history = new History(c.name, this.supervisor, this.loop, this.probe, this.clock);
    this.http = new HttpServer({
      '/': (_req, res) => sendText(res, 200, LIVE_PAGE_HTML, 'text/html; charset=utf-8'),
      '/history': (_req, res) => sendJson(res, 200, this.history.body()),
      '/events': this.events.handle,
      '/metrics': async (_req, res) => sendText(res, 200, await metrics.registry.metrics(), metrics.registry.contentType),
      '/healthz': (_req, res) => (this.healthy() ? sendText(res, 200, 'ok\n') : sendText(res, 503, 'control loop stalled\n')),
      '/readyz': async (_req, res) => {
        const ready = await this.ready();
        sendText(res, ready ? 200 : 503, ready ? 'ready\n' : 'not ready\n');
      },
      '/status': async (_req, res) => sendJson(res, 200, await this.status()),
    });
  }

  get config(): PoolConfig {
    return this.opts.config;
  }

  /** Where the HTTP endpoints listen (after start). */
  get url(): string {
    const a = this.address!;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `http://${host}:${a.port}`;
  }

  async start(): Promise<void> {
    const c = this.opts.config;
    this.address = await this.http.listen(c.metricsPort, c.metricsHost);
    this.log.info(
      { redis: redactUrl(c.redisUrl), queues: c.queues, concurrency: c.concurrency, minWorkers: c.minWorkers, maxWorkers: c.maxWorkers, threshold: c.utilizationThreshold, http: this.url },
      'worker-pool starting',
    );
    if (Object.keys(c.globalConcurrency).length === 0) (this.loop.start(), this.arrivals.arm());
    // Workers must not take jobs of a limited queue before its limit is in Redis.
    else {
      void this.applyGlobalConcurrency().then(() => {
        if (!this.stopped) (this.loop.start(), this.arrivals.arm());
      });
    }
    this.history.start();
    this.titleTimer = setInterval(() => this.setTitle(), 250);
    this.setTitle();
  }

  private async applyGlobalConcurrency(): Promise<void> {
    let warned = false;
    while (!this.stopped) {
      try {
        await this.globalConcurrency.apply(this.opts.config.globalConcurrency);
        return;
      } catch (err) {
        if (!warned) this.log.warn({ err: (err as Error).message }, 'cannot set global concurrency in Redis yet; workers start once it is set');
        warned = true;
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
  }

  /**
   * Apply a new, already validated config (SIGHUP): scaling limits, window and timeouts at once;
   * new worker settings by replacing workers one at a time; settings that need a restart are kept
   * as they were, with a warning. Resolves once the changes are in effect, before the rollout ends.
   */
  async reload(next: PoolConfig): Promise<ReloadPlan> {
    const plan = planReload(this.opts.config, next);
    const c = plan.effective;
    this.opts.config = c;
    this.log.level = c.logLevel;
    this.loop.setLimits({ minWorkers: c.minWorkers, maxWorkers: c.maxWorkers, threshold: c.utilizationThreshold, scalingPeriodMs: c.scalingPeriod * 1000 });
    this.supervisor.usage.resize(c.window * 1000);
    this.supervisor.updateSettings(workerSettings(c), { maxJobsPerWorker: c.maxJobsPerWorker, maxMemoryMb: c.maxMemoryMb });
    const desired = this.supervisor.desired;
    if (!this.stopped && this.loop.running && (desired < c.minWorkers || desired > c.maxWorkers)) {
      this.supervisor.setDesired(Math.min(c.maxWorkers, Math.max(c.minWorkers, desired)));
    }
    await this.probe.setQueues(c.queues);
    this.arrivals.setQueues(c.queues);
    await this.events.setQueues(c.queues);
    try {
      await this.globalConcurrency.apply(c.globalConcurrency);
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'reload: could not update global concurrency in Redis yet; retrying every scaling period');
    }
    if (plan.needRestart.length > 0) this.log.warn({ keys: plan.needRestart }, 'reload: these settings only change with a restart; keeping their old values');
    this.log.info({ changed: plan.changed, replaceWorkers: plan.replaceWorkers, minWorkers: c.minWorkers, maxWorkers: c.maxWorkers, concurrency: c.concurrency }, 'config reloaded');
    this.lastReload = { at: this.clock.wallNow(), ok: true, changed: plan.changed, needRestart: plan.needRestart };
    if (plan.replaceWorkers && !this.stopped) void this.rollout.replaceOutdated();
    return plan;
  }

  /** A reload that was refused (the new file is invalid): the old config stays. */
  reloadFailed(error: string): void {
    this.log.error({ err: error }, 'reload refused; keeping the current config');
    this.lastReload = { at: this.clock.wallNow(), ok: false, changed: [], needRestart: [], error };
  }

  private setTitle(): void {
    const workers = this.supervisor.workers().filter((w) => w.state !== 'draining');
    const busy = workers.reduce((n, w) => n + w.busySlots, 0);
    const slots = workers.reduce((n, w) => n + w.concurrency, 0);
    const title = `worker-pool ${this.opts.config.name} supervisor [${workers.length} workers, ${busy} of ${slots} busy]${this.stopped ? ' stopping' : ''}`;
    if (process.title !== title) process.title = title;
  }

  healthy(): boolean {
    const last = this.loop.lastTickAt;
    if (last === undefined || !this.loop.running) return false;
    return this.clock.now() - last < this.loop.limits.scalingPeriodMs * 3 + 1000;
  }

  async ready(): Promise<boolean> {
    const up = await this.probe.ping();
    return up && this.healthy() && this.supervisor.runningCount() >= this.loop.limits.minWorkers && this.supervisor.fatalCount() === 0;
  }

  async status(): Promise<PoolStatus> {
    const c = this.opts.config;
    const now = this.clock.now();
    const ready = await this.ready();
    const snap = this.probe.redisUp ? await this.probe.snapshot().catch(() => null) : null;
    const perQueue = <T>(f: (s: NonNullable<typeof snap>[string]) => T) => (snap ? Object.fromEntries(Object.entries(snap).map(([q, s]) => [q, f(s)])) : null);
    return {
      pool: c.name,
      version: VERSION,
      redis: { url: redactUrl(c.redisUrl), up: this.probe.redisUp },
      queues: c.queues,
      concurrency: c.concurrency,
      globalConcurrency: c.globalConcurrency,
      minWorkers: this.loop.limits.minWorkers,
      maxWorkers: this.loop.limits.maxWorkers,
      desiredWorkers: this.supervisor.desired,
      runningWorkers: this.supervisor.runningCount(),
      fatalSlots: this.supervisor
        .slotList()
        .filter((s) => s.fatalUntil !== undefined)
        .map((s) => ({ id: s.name, failedStarts: s.failedStarts, retryInSeconds: Math.max(0, Math.round((s.fatalUntil! - now) / 1000)), lastError: s.lastError })),
      utilization: this.supervisor.utilization(),
      utilizationThreshold: this.loop.limits.threshold,
      scalingPeriodSeconds: this.loop.limits.scalingPeriodMs / 1000,
      windowSeconds: this.supervisor.usage.window / 1000,
      ready,
      workers: this.supervisor.workers().map((w) => ({
        id: w.id,
        pid: w.pid,
        state: w.state,
        busy: w.busySlots,
        concurrency: w.concurrency,
        processed: w.processed,
        failed: w.failed,
        rssBytes: w.rssBytes,
        uptimeSeconds: Math.round((now - w.forkedAt) / 100) / 10,
      })),
      decisions: this.loop.decisions.slice(-20),
      queueCounts: perQueue((s) => s.counts),
      queueOldestAgeSeconds: perQueue((s) => Math.round(s.oldestAgeSeconds * 10) / 10),
      pausedQueues: snap ? Object.entries(snap).filter(([, s]) => s.paused).map(([q]) => q) : [],
      lastReload: this.lastReload ?? null,
    };
  }

  /**
   * Graceful stop: no more scaling, every child drains; after stop-timeout the rest hand their jobs
   * back and are killed. Calling it again (a second signal) forces at once.
   */
  stop(): Promise<{ forced: boolean }> {
    if (this.stopped) {
      this.log.warn('second stop request; forcing');
      this.forceResolve?.();
      return this.stopped;
    }
    const force = new Promise<void>((resolve) => (this.forceResolve = resolve));
    this.stopped = (async () => {
      this.log.info({ stopTimeout: this.opts.config.stopTimeout }, 'stopping: draining workers');
      this.loop.stop();
      await this.arrivals.stop();
      this.setTitle();
      const stopBy = this.clock.now() + this.opts.config.stopTimeout * 1000;
      const result = await this.supervisor.shutdown(this.opts.config.stopTimeout * 1000, force);
      if (this.titleTimer) clearInterval(this.titleTimer);
      // Jobs of children that had to be killed go back within what is left of the stop timeout.
      await this.handBack.idle(Math.max(100, Math.min(2000, stopBy - this.clock.now())));
      this.history.stop();
      await this.events.close();
      await this.http.close();
      await this.globalConcurrency.close();
      await this.probe.close();
      this.log.info({ forced: result.forced }, 'stopped');
      this.resolveDone?.(result);
      return result;
    })();
    return this.stopped;
  }
}
