/**
 * The composition root: one per process. Wires the clock, logger, supervisor, control loop,
 * queue probe, metrics and HTTP server for one pool, and stops them in order.
 */
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { systemClock, type Clock } from './clock.js';
import { redactUrl, type PoolConfig } from './config/load.js';
import { redactText } from './config/redact.js';
import { EventStream } from './observe/event-stream.js';
import { History } from './observe/history.js';
import { HttpServer, json, text } from './observe/http.js';
import { serverHttpAccess } from './observe/http-config.js';
import { registerHttpMetrics } from './observe/http-metrics.js';
import { JOB_BOARD_PATH, JobBoard } from './observe/job-board.js';
import { RedisHistoryStore } from './observe/history-store.js';
import { LIVE_PAGE_HTML } from './observe/live-page.js';
import { createLogger, wantsPretty, type Logger } from './observe/logger.js';
import { registerFreezeMetrics } from './observe/freeze-metrics.js';
import { createMetrics } from './observe/metrics.js';
import { buildInfo, registerQueueMetrics } from './observe/queue-metrics.js';
import { QueueProbe, type QueueCounts } from './observe/queue-probe.js';
import { FleetCap, cappedPolicy } from './fleet/cap.js';
import { FleetMember, type InstanceFacts } from './fleet/member.js';
import { fleetRoute } from './fleet/route.js';
import { DEFAULT_BACKOFF } from './policy/backoff.js';
import { selectPolicy } from './policy/select.js';
import type { ScalePolicy } from './policy/types.js';
import { planReload, type ReloadPlan } from './config/reload-plan.js';
import type { WorkerSettings } from './ipc/messages.js';
import { GlobalConcurrency } from './redis/global-concurrency.js';
import { RedisWatch, type Failover } from './redis/redis-watch.js';
import { readinessReasons } from './observe/readiness.js';
import { registerRedisMetrics } from './observe/redis-metrics.js';
import { FetchHealth } from './supervisor/fetch-health.js';
import { Watchdog } from './supervisor/watchdog.js';
import { RedisReachability } from './redis/reachability.js';
import { ArrivalWatch } from './supervisor/arrival-watch.js';
import { ControlLoop, type DecisionRecord } from './supervisor/control-loop.js';
import { FreezeWatch } from './supervisor/freeze-watch.js';
import { HandBack } from './supervisor/hand-back.js';
import { LockKeeper } from './supervisor/lock-keeper.js';
import { PoolDemand } from './supervisor/pool-demand.js';
import { Rollout } from './supervisor/rollout.js';
import { SaturationWatch } from './supervisor/saturation-watch.js';
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
  redis: {
    url: string;
    up: boolean;
    /** Where the supervisor's connection goes now ("host:port"; every master of a cluster). */
    masters: string[];
    failovers: number;
    lastFailover: Failover | null;
    reconnections: number;
    evictionPolicy: string | null;
    /** BullMQ's eviction-policy warning, when the policy is not noeviction. */
    warning: string | null;
  };
  /** Failed job fetches of the workers, from their samples. */
  fetchErrors: number;
  /** Why the pool is not ready (empty when ready). */
  readyReasons: string[];
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
  /** The last scaling decisions that changed the size (holds left out), across restarts; oldest first. */
  changes: DecisionRecord[];
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
    redis: c.redis,
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

/** In place of an error in /status for a client that is not authenticated (docs/http.md). */
export const HIDDEN = 'hidden: shown only to an authenticated client (--http-config); the daemon log has it';

/** The instance's name in the fleet: its config file's base name (systemd's worker-pool@NAME), else the pool name. */
export function instanceName(c: PoolConfig): string {
  return c.configFile ? path.basename(c.configFile).replace(/\.ya?ml$/i, '') : c.name;
}

export class Daemon {
  readonly log: Logger;
  readonly supervisor: Supervisor;
  readonly loop: ControlLoop;
  /** At zero workers, wakes the pool when a job arrives instead of at the next period. */
  private readonly arrivals: ArrivalWatch;
  /** With every slot busy, asks for a decision before the period ends. */
  private readonly saturation: SaturationWatch;
  readonly probe: QueueProbe;
  readonly handBack: HandBack;
  readonly events: EventStream;
  readonly history: History;
  readonly globalConcurrency: GlobalConcurrency;
  readonly rollout: Rollout;
  readonly fleet: FleetMember;
  readonly fleetCap: FleetCap | undefined;
  /** Queues of dead peers that are not this pool's, opened to hand their jobs back. */
  private readonly otherQueues = new Map<string, Queue>();
  readonly lockKeeper: LockKeeper;
  readonly freezeWatch: FreezeWatch;
  readonly redisWatch: RedisWatch;
  readonly fetchHealth: FetchHealth;
  readonly watchdog: Watchdog;
  readonly reachability: RedisReachability;
  lastReload: ReloadRecord | undefined;
  private readonly clock: Clock;
  private readonly http: HttpServer;
  readonly jobBoard: JobBoard;
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
      tokenPrefix: () => this.fleet.tokenPrefix(),
      // Children start once the registration holds (their token bases carry its epoch), never while it is lost.
      admit: () => this.fleet.state === 'live' && (this.fleetCap ? this.fleetCap.admit() : true),
    });
    this.probe = new QueueProbe(c.redis, c.prefix, c.queues, c.name, () => this.clock.wallNow());
    this.redisWatch = new RedisWatch(this.probe.client, () => this.clock.wallNow());
    this.redisWatch.onFailover((f) => this.log.warn({ from: f.from, to: f.to }, 'Redis master changed (failover); workers reconnect to the new one'));
    this.fetchHealth = new FetchHealth(this.supervisor, this.clock, c.sampleInterval * 1000);
    this.watchdog = new Watchdog({
      supervisor: this.supervisor,
      probe: this.probe,
      prefix: c.prefix,
      clock: this.clock,
      log: this.log,
      stuckMs: () => this.opts.config.stuckSeconds * 1000,
      limits: () => this.opts.config.globalConcurrency,
      killAfterMs: () => this.opts.config.stopTimeout * 1000,
    });
    this.loop = new ControlLoop(
      this.supervisor,
      this.capPolicy(opts.policy ?? selectPolicy(c)),
      { minWorkers: c.minWorkers, maxWorkers: c.maxWorkers, threshold: c.utilizationThreshold, scalingPeriodMs: c.scalingPeriod * 1000 },
      this.clock,
      this.log,
      new PoolDemand(this.supervisor, this.probe, this.clock, c.window * 1000, () => this.fleet.queueListeners()),
    );
    this.reachability = new RedisReachability(this.probe.client, redactUrl(c.redisUrl), this.log);
    this.arrivals = new ArrivalWatch({
      connect: () => this.probe.client.duplicate({ connectionName: `worker-pool:${c.name}:arrivals`, maxRetriesPerRequest: null }),
      prefix: c.prefix,
      queues: c.queues,
      atZero: () => this.supervisor.desired === 0 && this.loop.running,
      decide: () => this.loop.decideNow(),
      log: this.log,
    });
    this.loop.onDecision((d) => d.workersAfter === 0 && this.arrivals.arm());
    this.saturation = new SaturationWatch({
      supervisor: this.supervisor,
      canGrow: () => this.loop.running && this.loop.decidesEarly && this.supervisor.desired > 0 && this.supervisor.desired < this.loop.limits.maxWorkers,
      decide: () => this.loop.decideSaturated(),
      clock: this.clock,
      minGapMs: c.sampleInterval * 1000,
    });
    this.supervisor.on('worker-message', (_w, m) => m.type === 'sample' && this.saturation.onSample());
    this.globalConcurrency = new GlobalConcurrency(this.probe.client, c.prefix, this.log);
    this.rollout = new Rollout(this.supervisor, this.log);
    // Every period, put back a global limit that Redis lost or another pool changed.
    this.loop.onDecision(() => void this.globalConcurrency.check().catch((err: Error) => this.log.debug({ err: err.message }, 'global concurrency check failed')));
    this.handBack = new HandBack({ client: this.probe.client, prefix: c.prefix, queue: (q) => this.probe.queue(q) ?? this.otherQueue(q), maxStalledCount: c.maxStalledCount, clock: this.clock, log: this.log });
    this.supervisor.on('worker-exit', (e) => void this.handBack.recover(e.worker));
    // What a demoted master accepted and lost leaves jobs locked by children that moved on: return them now.
    this.redisWatch.onFailover(() => void this.handBack.returnUnheld(this.supervisor.workers()));
    this.supervisor.on('worker-message', (w, m) => m.type === 'fetch-uncertain' && void this.handBack.returnOrphans(w, m.queue, m.token, m.keep));
    this.fleet = new FleetMember({
      redisUrl: c.redisUrl,
      redis: c.redis,
      prefix: c.prefix,
      host: hostname(),
      name: instanceName(c),
      pool: c.name,
      pid: process.pid,
      version: VERSION,
      heartbeatMs: c.heartbeatSeconds * 1000,
      leaseMs: c.leaseSeconds * 1000,
      fleetMaxWorkers: c.fleetMaxWorkers,
      clock: this.clock,
      log: this.log,
      facts: () => this.fleetFacts(),
      recover: (info, since) => this.handBack.recoverHost(`${info.host}/${info.name}`, info.queues ?? [], info.tokenBases ?? [], since),
      slots: this.fleetCap ? { key: this.fleetCap.key, held: () => this.fleetCap!.heldMembers(), lost: (m) => this.fleetCap!.lost(m) } : undefined,
    });
    this.wireFleet();
    // A job that blocks its child's event loop keeps its lock while the child lives, and is ended
    // by the supervisor past its time limit.
    this.lockKeeper = new LockKeeper({
      client: this.probe.client,
      prefix: c.prefix,
      lockDurationMs: c.lockDuration * 1000,
      children: () => this.supervisor.workers().filter((w) => w.alive).map((w) => ({ tokenBase: w.tokenBase, queues: w.queues })),
      log: this.log,
    });
    this.freezeWatch = new FreezeWatch({ workers: () => this.supervisor.workers(), queue: (q) => this.probe.queue(q), sampleIntervalMs: c.sampleInterval * 1000, clock: this.clock, log: this.log });
    const metrics = createMetrics(c.name, this.supervisor, this.loop, this.handBack, c.metricsQueues);
    registerFreezeMetrics(metrics.registry, this.freezeWatch);
    registerQueueMetrics(metrics.registry, this.probe, buildInfo(VERSION), c.metricsQueues);
    registerRedisMetrics(metrics.registry, this.redisWatch, this.fetchHealth);
    this.events = new EventStream({ pool: c.name, redisUrl: c.redisUrl, redis: c.redis, prefix: c.prefix, queues: c.queues, payloads: c.eventsPayloads, maxClients: c.eventsMaxClients }, this.supervisor, this.loop, this.log, () => this.clock.wallNow());
    const historyStore = new RedisHistoryStore(this.probe.client, c.prefix, c.name, History.pointsFor(2000), (err) => this.log.debug({ err: err.message }, 'could not store history'));
    this.history = new History(c.name, this.supervisor, this.loop, this.probe, this.clock, 2000, historyStore);
    registerHttpMetrics(metrics.registry, this.events);
    const access = serverHttpAccess(c, process.env, process.cwd());
    this.jobBoard = new JobBoard(c.name, this.poolQueues(), !access?.authRequired);
    this.http = new HttpServer(
      {
        '/': (ctx) => text(ctx, 200, LIVE_PAGE_HTML, 'text/html; charset=utf-8'),
        '/history': (ctx) => json(ctx, 200, this.history.body()),
        '/events': this.events.handle,
        '/metrics': async (ctx) => text(ctx, 200, await metrics.registry.metrics(), metrics.registry.contentType),
        '/healthz': (ctx) => (this.healthy() ? text(ctx, 200, 'ok\n') : text(ctx, 503, 'control loop stalled\n')),
        '/readyz': async (ctx) => {
          const reasons = await this.readiness();
          const redis = this.redisWatch.describe();
          return text(ctx, reasons.length === 0 ? 200 : 503, `${reasons.length === 0 ? 'ready' : `not ready: ${reasons.join('; ')}`}\n${redis}\n`);
        },
        // Errors can carry secrets (a processor's stderr, a config line): only for authenticated clients.
        '/status': async (ctx) => json(ctx, 200, await this.status({ private: ctx.get('authenticated') })),
        '/fleet': fleetRoute(this.fleet),
      },
      { bind: c.metricsHost, access, mounts: [{ path: JOB_BOARD_PATH, app: this.jobBoard.app }] },
    );
  }

  /** The probe's Queue objects for the pool's queues (shared with the job board). */
  private poolQueues() {
    return this.opts.config.queues.map((q) => this.probe.queue(q)).filter((q) => q !== undefined);
  }

  /** With --fleet-max-workers, the cap (its slot leases) and the policy that knows about it. */
  private capPolicy(policy: ScalePolicy): ScalePolicy {
    const c = this.opts.config;
    if (c.fleetMaxWorkers === undefined) return policy;
    (this as { fleetCap: FleetCap | undefined }).fleetCap = new FleetCap({
      client: () => this.fleet.redis,
      prefix: c.prefix,
      pool: c.name,
      max: c.fleetMaxWorkers,
      leaseMs: c.leaseSeconds * 1000,
      log: this.log,
      registration: () => (this.fleet.state === 'live' ? this.fleet.id : undefined),
      live: () => this.supervisor.workers().length,
      desired: () => this.supervisor.desired,
    });
    return cappedPolicy(policy, this.fleetCap!);
  }

  /** What a lost lease, a new registration and a slot grant do to the pool. */
  private wireFleet(): void {
    const cap = this.fleetCap;
    this.fleet.on('fenced', () => {
      if (!cap) return;
      // Our slots may be given to others once our lease runs out in Redis: stop every worker first.
      cap.dropAll();
      const live = this.supervisor.workers();
      if (live.length > 0) this.log.warn({ workers: live.length }, 'fleet cap: lease lost; stopping every worker before its slot can be given to another host');
      for (const w of live) {
        w.stopReason = 'fenced';
        w.kill('SIGKILL');
      }
    });
    this.fleet.on('registered', ({ previous, carried }) => {
      // A peer claimed our old registration and is handing its jobs back: its children's tokens are
      // no longer trusted. They stop taking jobs once successors under the new epoch are ready.
      if (previous !== undefined && !carried && !this.stopped) {
        const n = this.supervisor.replaceAll('fenced');
        if (n > 0) this.log.warn({ workers: n, previous }, 'fleet: old registration was claimed by a peer; replacing its workers under the new epoch');
      }
      if (!this.stopped) this.supervisor.reconcile();
      void cap?.sync().catch(() => undefined);
    });
    this.fleet.on('unfenced', () => !this.stopped && this.supervisor.reconcile());
    this.fleet.on('renewed', () => void cap?.sync().catch((err: Error) => this.log.debug({ err: err.message }, 'fleet cap: slot sync failed')));
    cap?.on('granted', (held) => {
      if (this.stopped || !this.loop.running) return;
      // A decision held for lack of a slot goes ahead now, without waiting for the next period.
      const want = Math.min(cap.wanted, held, this.loop.limits.maxWorkers);
      if (want > this.supervisor.desired) this.supervisor.setDesired(want);
      else this.supervisor.reconcile();
    });
  }

  private fleetFacts(): InstanceFacts {
    const workers = this.supervisor.workers();
    return {
      queues: this.opts.config.queues,
      workers: workers.length,
      busy: workers.reduce((n, w) => n + w.busySlots, 0),
      concurrency: this.opts.config.concurrency,
      // Read without pruning the usage window: only the control loop and /status prune it.
      utilization: this.supervisor.usage.utilization(this.clock.now()),
      desired: this.supervisor.desired,
      childBases: workers.map((w) => `${w.tokenBase}:`),
    };
  }

  private otherQueue(name: string): Queue {
    let q = this.otherQueues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.probe.client, prefix: this.opts.config.prefix });
      q.on('error', () => undefined);
      this.otherQueues.set(name, q);
    }
    return q;
  }

  get config(): PoolConfig {
    return this.opts.config;
  }

  /** Where the HTTP endpoints listen (after start). */
  get url(): string {
    const a = this.address!;
    const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
    return `${this.http.tls ? 'https' : 'http'}://${host}:${a.port}`;
  }

  async start(): Promise<void> {
    const c = this.opts.config;
    this.address = await this.http.listen(c.metricsPort, c.metricsHost);
    this.log.info(
      { redis: redactUrl(c.redisUrl), redisSentinels: c.redisSentinels, redisSentinelName: c.redisSentinels ? c.redisSentinelName : undefined, redisClusterNodes: c.redisClusterNodes, queues: c.queues, concurrency: c.concurrency, minWorkers: c.minWorkers, maxWorkers: c.maxWorkers, threshold: c.utilizationThreshold, http: this.url },
      'worker-pool starting',
    );
    this.watchdog.start();
    if (Object.keys(c.globalConcurrency).length === 0) (this.loop.start(), this.arrivals.arm());
    // Workers must not take jobs of a limited queue before its limit is in Redis.
    else {
      void this.applyGlobalConcurrency().then(() => {
        if (!this.stopped) (this.loop.start(), this.arrivals.arm());
      });
    }
    this.history.start();
    this.fleet.start();
    this.lockKeeper.start();
    this.freezeWatch.start();
    void this.history.restore().catch((err: Error) => this.log.debug({ err: err.message }, 'could not read the stored history'));
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
   * as they were, with a warning. All or nothing: if a part cannot take the new config, every part
   * is put back and the error thrown (the reload is refused). Resolves once the changes are in
   * effect, before the rollout ends.
   */
  async reload(next: PoolConfig): Promise<ReloadPlan> {
    const old = this.opts.config;
    const plan = planReload(old, next);
    const c = plan.effective;
    try {
      await this.applyConfig(c);
    } catch (err) {
      await this.applyConfig(old).catch((e: unknown) => this.log.error({ err: (e as Error).message }, 'reload: could not restore the previous config everywhere'));
      throw err;
    }
    this.arrivals.setQueues(c.queues);
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

  /** Hand a config to every part: the ones that can refuse it (they open queues) first. */
  private async applyConfig(c: PoolConfig): Promise<void> {
    await this.probe.setQueues(c.queues);
    await this.events.setQueues(c.queues);
    this.opts.config = c;
    this.jobBoard.setQueues(this.poolQueues());
    this.log.level = c.logLevel;
    this.loop.setLimits({ minWorkers: c.minWorkers, maxWorkers: c.maxWorkers, threshold: c.utilizationThreshold, scalingPeriodMs: c.scalingPeriod * 1000 });
    this.supervisor.usage.resize(c.window * 1000);
    this.supervisor.updateSettings(workerSettings(c), { maxJobsPerWorker: c.maxJobsPerWorker, maxMemoryMb: c.maxMemoryMb });
    const desired = this.supervisor.desired;
    if (!this.stopped && this.loop.running && (desired < c.minWorkers || desired > c.maxWorkers)) {
      this.supervisor.setDesired(Math.min(c.maxWorkers, Math.max(c.minWorkers, desired)));
    }
  }

  /** A reload that was refused (the new file is invalid): the old config stays. */
  reloadFailed(given: string): void {
    const error = redactText(given);
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
    return (await this.readiness()).length === 0;
  }

  /** Why the pool is not ready (empty: ready). The /readyz route prints these. */
  async readiness(): Promise<string[]> {
    const up = await this.probe.ping();
    if (up) await this.redisWatch.refresh(this.clock.now());
    const running = this.supervisor.workers().filter((w) => w.state === 'running');
    return readinessReasons({
      redisUp: up,
      loopHealthy: this.healthy(),
      running: this.supervisor.runningCount(),
      minWorkers: this.loop.limits.minWorkers,
      fatalSlots: this.supervisor.fatalCount(),
      fetchFailing: this.fetchHealth.failingCount(running),
      fetchErrorsTotal: this.fetchHealth.total,
      replicaOf: this.redisWatch.replicaOf,
      redisDown: up ? undefined : this.reachability.describe(),
      unregistered: this.fleet.id === undefined ? (this.fleet.lastError ?? 'registering') : undefined,
    });
  }

  /**
   * The pool's state. `private: false` (an unauthenticated HTTP client) leaves out what may hold
   * secrets: a fatal slot's last error (its stderr) and a refused reload's error.
   */
  async status(opts: { private: boolean } = { private: true }): Promise<PoolStatus> {
    const c = this.opts.config;
    const now = this.clock.now();
    const readyReasons = await this.readiness();
    const ready = readyReasons.length === 0;
    const w = this.redisWatch;
    const snap = this.probe.redisUp ? await this.probe.snapshot().catch(() => null) : null;
    const perQueue = <T>(f: (s: NonNullable<typeof snap>[string]) => T) => (snap ? Object.fromEntries(Object.entries(snap).map(([q, s]) => [q, f(s)])) : null);
    return {
      pool: c.name,
      version: VERSION,
      redis: {
        url: redactUrl(c.redisUrl),
        up: this.probe.redisUp,
        masters: w.masters,
        failovers: w.failovers,
        lastFailover: w.lastFailover ?? null,
        reconnections: w.reconnections,
        evictionPolicy: w.evictionPolicy ?? null,
        warning: w.evictionWarning() ?? null,
      },
      fetchErrors: this.fetchHealth.total,
      readyReasons,
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
        .map((s) => ({ id: s.name, failedStarts: s.failedStarts, retryInSeconds: Math.max(0, Math.round((s.fatalUntil! - now) / 1000)), lastError: opts.private || s.lastError === undefined ? s.lastError : HIDDEN })),
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
      changes: this.history.changes(20),
      queueCounts: perQueue((s) => s.counts),
      queueOldestAgeSeconds: perQueue((s) => Math.round(s.oldestAgeSeconds * 10) / 10),
      pausedQueues: snap ? Object.entries(snap).filter(([, s]) => s.paused).map(([q]) => q) : [],
      lastReload: !this.lastReload ? null : opts.private || this.lastReload.error === undefined ? this.lastReload : { ...this.lastReload, error: HIDDEN },
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
      this.watchdog.stop();
      await this.arrivals.stop();
      this.setTitle();
      const stopBy = this.clock.now() + this.opts.config.stopTimeout * 1000;
      const result = await this.supervisor.shutdown(this.opts.config.stopTimeout * 1000, force);
      this.freezeWatch.stop();
      this.lockKeeper.stop();
      if (this.titleTimer) clearInterval(this.titleTimer);
      // Jobs of children that had to be killed go back within what is left of the stop timeout.
      // (With Redis unreachable they cannot go back now; the stalled check returns them later.)
      await this.handBack.idle(this.probe.redisUp ? Math.max(100, Math.min(2000, stopBy - this.clock.now())) : 100);
      await this.fleet.stop(Math.max(100, Math.min(2000, stopBy - this.clock.now())), async () => this.fleetCap?.releaseAll());
      await Promise.allSettled([...this.otherQueues.values()].map((q) => q.close()));
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
