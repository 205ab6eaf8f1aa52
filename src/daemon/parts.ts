/**
 * Builds one pool's parts, in the order they depend on each other: what reads Redis, the children,
 * the scaling loop, the fleet, then what watches and shows them. Nothing starts here (Daemon.start
 * does), so a part may name one built after it only inside a callback that runs once started.
 */
import type { Clock } from '../clock.js';
import type { PoolConfig } from '../config/load.js';
import { cappedPolicy } from '../fleet/cap.js';
import type { WorkerSettings } from '../ipc/messages.js';
import { wantsPretty, type Logger } from '../logger.js';
import { EventStream } from '../observe/event-stream.js';
import { registerFreezeMetrics } from '../observe/freeze-metrics.js';
import { History } from '../observe/history.js';
import { RedisHistoryStore } from '../observe/history-store.js';
import { poolIdentity } from '../observe/pool-identity.js';
import { registerHttpMetrics } from '../observe/http-metrics.js';
import { createMetrics } from '../observe/metrics.js';
import { buildInfo, registerQueueMetrics } from '../observe/queue-metrics.js';
import { registerRedisMetrics } from '../observe/redis-metrics.js';
import { DEFAULT_BACKOFF } from '../policy/backoff.js';
import { selectPolicy } from '../policy/select.js';
import { workersWanted } from '../policy/workers-wanted.js';
import type { ScalePolicy } from '../policy/types.js';
import { GlobalConcurrency } from '../redis/global-concurrency.js';
import { QueueCountsReader } from '../redis/queue-counts.js';
import { RedisReachability } from '../redis/reachability.js';
import { RedisWatch } from '../redis/redis-watch.js';
import { PoolDemand } from '../scaling/pool-demand.js';
import { buildScaling } from '../scaling/scaling-parts.js';
import { redactUrl } from '../secrets.js';
import { FetchHealth } from '../supervisor/fetch-health.js';
import { FreezeWatch } from '../supervisor/freeze-watch.js';
import { HandBack } from '../supervisor/hand-back.js';
import { LockKeeper } from '../supervisor/lock-keeper.js';
import { Rollout } from '../supervisor/rollout.js';
import { StuckWatch } from '../supervisor/stuck-watch.js';
import { Supervisor } from '../supervisor/supervisor.js';
import { VERSION } from '../version.js';
import { QueueHandles } from '../redis/queue-handles.js';
import { fleetCapFor, fleetFacts, fleetMemberFor } from './fleet-wiring.js';
import { registerScalerMetric } from './scaler.js';
import type { PoolParts, PoolState } from './state.js';

export interface PartsInput {
  state: PoolState;
  log: Logger;
  clock: Clock;
  policy?: ScalePolicy;
  workerEntry?: string;
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

export function buildParts(input: PartsInput): PoolParts {
  const { state, log, clock } = input;
  const c = state.config;

  // 1. Redis, as the supervisor sees it.
  const queueCounts = new QueueCountsReader(c.redis, c.prefix, c.queues, c.name, () => clock.wallNow());
  const redisWatch = new RedisWatch(queueCounts.client, () => clock.wallNow());
  redisWatch.onFailover((f) => log.warn({ from: f.from, to: f.to }, 'Redis master changed (failover); workers reconnect to the new one'));
  const reachability = new RedisReachability(queueCounts.client, redactUrl(c.redisUrl), log);
  const globalConcurrency = new GlobalConcurrency(queueCounts.client, c.prefix, log);

  // 2. The fleet: the cap's slot leases (with --fleet-max-workers) and the registration they live
  //    under. Their callbacks read the supervisor and hand-back built below, and run only once started.
  const fleetCap = fleetCapFor(c, log, () => fleet, () => supervisor);
  const fleet = fleetMemberFor(c, clock, log, fleetCap, {
    facts: () => fleetFacts(state.config, supervisor, loop, clock, handBack.unsettledBases()),
    recover: (host, queues, bases, since) => handBack.recoverHost(host, queues, bases, since),
  });

  // 3. The children, and what looks after their jobs.
  const supervisor = new Supervisor({
    settings: workerSettings(c),
    backoff: { ...DEFAULT_BACKOFF, startMs: c.startSeconds * 1000, retries: c.startRetries, fatalCooldownMs: c.fatalCooldown * 1000 },
    windowMs: c.window * 1000,
    clock,
    log,
    workerEntry: input.workerEntry,
    maxJobsPerWorker: c.maxJobsPerWorker,
    maxMemoryMb: c.maxMemoryMb,
    tokenPrefix: () => fleet.tokenPrefix(),
    // Children start once the registration holds (their token bases carry its epoch), never while it is lost.
    admit: () => fleet.holdsLease() && (fleetCap ? fleetCap.admit() : true),
    // Each child stops itself when the lease it was last told of runs out (the fence where the work runs).
    lease: { until: () => fleet.leaseDeadline, file: fleet.leaseFile.path },
  });
  const otherQueues = new QueueHandles(queueCounts.client, c.prefix);
  const handBack = new HandBack({ client: queueCounts.client, prefix: c.prefix, queue: (q) => queueCounts.queue(q) ?? otherQueues.get(q), maxStalledCount: c.maxStalledCount, clock, log });
  supervisor.on('worker-exit', (e) => void handBack.recover(e.worker));
  // What a demoted master accepted and lost leaves jobs locked by children that moved on: return them now.
  redisWatch.onFailover(() => void handBack.returnUnheld(supervisor.workers()));
  supervisor.on('worker-message', (w, m) => m.type === 'fetch-uncertain' && void handBack.returnOrphans(w, m.queue, m.token, m.keep));
  // A job that blocks its child's event loop keeps its lock while the child lives, and is ended
  // by the supervisor past its time limit.
  const lockKeeper = new LockKeeper({
    client: queueCounts.client,
    prefix: c.prefix,
    lockDurationMs: c.lockDuration * 1000,
    children: () => supervisor.workers().filter((w) => w.alive),
    clock,
    silentAfterMs: 2 * c.sampleInterval * 1000,
    log,
  });
  const freezeWatch = new FreezeWatch({ workers: () => supervisor.workers(), queue: (q) => queueCounts.queue(q), sampleIntervalMs: c.sampleInterval * 1000, clock, log, stoppedLimitMs: c.lockDuration * 1000 });
  const fetchHealth = new FetchHealth(supervisor, clock, c.sampleInterval * 1000);
  const stuckWatch = new StuckWatch({
    supervisor,
    reader: queueCounts,
    prefix: c.prefix,
    clock,
    log,
    stuckMs: () => state.config.stuckSeconds * 1000,
    limits: () => state.config.globalConcurrency,
    killAfterMs: () => state.config.stopTimeout * 1000,
  });
  const rollout = new Rollout(supervisor, log);

  // 4. The scaling loop between the policy (decides) and the supervisor (does).
  const policy = input.policy ?? selectPolicy(c);
  const { loop, arrivals, saturation } = buildScaling({
    supervisor,
    policy: fleetCap ? cappedPolicy(policy, fleetCap) : policy,
    limits: { minWorkers: c.minWorkers, maxWorkers: c.maxWorkers, threshold: c.utilizationThreshold, scalingPeriodMs: c.scalingPeriod * 1000 },
    demand: new PoolDemand(supervisor, queueCounts, clock, c.window * 1000, () => fleet.queueListeners()),
    markers: {
      connect: () => queueCounts.client.duplicate({ connectionName: `worker-pool:${c.name}:arrivals`, maxRetriesPerRequest: null }),
      prefix: c.prefix,
      queues: c.queues,
    },
    sampleIntervalMs: c.sampleInterval * 1000,
    clock,
    log,
    wanted: (s) => workersWanted(s, { policy: state.config.policy, drainTargetMs: state.config.scalingPeriod * 1000, targetWaitMs: state.config.targetWait * 1000 }),
  });
  // Every period, put back a global limit that Redis lost or another pool changed.
  loop.onDecision(() => void globalConcurrency.check().catch((err: Error) => log.debug({ err: err.message }, 'global concurrency check failed')));

  // 5. What shows the pool: metrics, the event stream, the live page's history.
  const metrics = createMetrics(c.name, supervisor, loop, handBack, c.metricsQueues);
  registerFreezeMetrics(metrics.registry, freezeWatch);
  registerQueueMetrics(metrics.registry, queueCounts, buildInfo(VERSION), c.metricsQueues);
  registerRedisMetrics(metrics.registry, redisWatch, fetchHealth);
  const events = new EventStream({ pool: c.name, redisUrl: c.redisUrl, redis: c.redis, prefix: c.prefix, queues: c.queues, payloads: c.eventsPayloads, maxClients: c.eventsMaxClients }, supervisor, loop, log, () => clock.wallNow());
  registerHttpMetrics(metrics.registry, events, supervisor);
  registerScalerMetric(metrics.registry, fleet, () => state.config);
  // Stored under the pool's identity, not its name alone: unrelated pools sharing a name never mix.
  const historyStore = new RedisHistoryStore(queueCounts.client, c.prefix, `${c.name}:${poolIdentity(c)}`, History.pointsFor(2000), (err) => log.debug({ err: err.message }, 'could not store history'));
  const history = new History(c.name, supervisor, loop, queueCounts, clock, 2000, historyStore);

  return {
    clock,
    log,
    queueCounts,
    redisWatch,
    reachability,
    globalConcurrency,
    supervisor,
    handBack,
    otherQueues,
    lockKeeper,
    freezeWatch,
    fetchHealth,
    stuckWatch,
    rollout,
    loop,
    arrivals,
    saturation,
    fleet,
    fleetCap,
    registry: metrics.registry,
    events,
    history,
  };
}
