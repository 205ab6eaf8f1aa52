/**
 * A deterministic simulation of one pool on virtual time that runs the daemon's own scaling code —
 * the real Supervisor (slots, states, usage window), the real control loop with its policy and guard,
 * the real PoolDemand, SaturationWatch and ArrivalWatch, wired as the daemon wires them — against
 * simulated parts in place of the outside world: children that run the trace's jobs instead of
 * forked processes, queues instead of Redis, and a host's CPUs (`cores`).
 */
import { createLogger } from '../logger.js';
import type { ScalePolicy } from '../policy/types.js';
import { PoolDemand, type HostMemory } from '../scaling/pool-demand.js';
import { buildScaling, startScaling, type Scaling } from '../scaling/scaling-parts.js';
import { Supervisor, type SupervisorOptions } from '../supervisor/supervisor.js';
import { SimRecord, type SimResult } from './sim-record.js';
import { SimulatedChild, type SimulatedWorld } from './simulated-child.js';
import { SimulatedCpu } from './simulated-cpu.js';
import { SimulatedQueues } from './simulated-queues.js';
import type { Trace } from './traces.js';
import { VirtualTime } from './virtual-time.js';

/** A simulated pool has no cgroup and no supervisor of its own: the memory guard sees --memory-budget-mb alone. */
const SIMULATED_HOST_MEMORY: HostMemory = { limitBytes: () => undefined, supervisorRssBytes: () => 0 };

export { percentile, type SimResult, type SimSummary, type TickRow } from './sim-record.js';

export interface SimPool {
  minWorkers: number;
  maxWorkers: number;
  concurrency: number;
  /** Seconds, like the daemon's options. */
  scalingPeriod: number;
  window: number;
  threshold: number;
  sampleInterval: number;
  /** Fork to ready (s); measured ~0.25 s on a 2-core machine (see docs/benchmarks.md). */
  spawnSeconds: number;
  /** Resident memory of one worker (MiB), for the memory budget. */
  workerMemoryMb: number;
  /** Strict order of the queues; queues not listed come after, in order of first appearance. */
  queues?: string[];
  /** The host's CPUs; unset: CPU is never short (jobs take their trace duration). */
  cores?: number;
}

/** A policy that never serves the waiting jobs: give up this long after the horizon (reported as unfinished). */
const GIVE_UP_AFTER_MS = 24 * 3600 * 1000;

/** The simulated queues' key prefix (the markers the arrival watch blocks on). */
const PREFIX = 'sim';

const silent = createLogger({ level: 'silent', pretty: false, base: {} });

interface SimulatedPool {
  time: VirtualTime;
  record: SimRecord;
  queues: SimulatedQueues;
  supervisor: Supervisor;
  scaling: Scaling;
}

export async function simulate(trace: Trace, pool: SimPool, policy: ScalePolicy): Promise<SimResult> {
  const { time, record, queues, supervisor, scaling } = buildPool(trace, pool, policy);
  queues.scheduleArrivals((job) => record.jobArrived(job.durationMs));
  startScaling(scaling);
  const horizonMs = trace.horizon * 1000;
  const pinned = () => supervisor.desired >= pool.maxWorkers;
  for (;;) {
    if (time.unsettled) await time.settle();
    const next = time.nextAt();
    const done = queues.drained && record.running === 0;
    if ((done && Math.max(time.now, next) >= horizonMs) || next > horizonMs + GIVE_UP_AFTER_MS) {
      // Every job done: the pool idles on to the end of the trace (its workers still count); or
      // given up on a policy that never serves the waiting jobs (they count as unfinished).
      const end = done ? Math.max(time.now, horizonMs) : time.now;
      record.advance(end, pinned());
      time.advanceTo(end);
      break;
    }
    record.advance(next, pinned());
    time.runNext();
  }
  scaling.loop.stop();
  await scaling.arrivals.stop();
  return record.result();
}

/** The daemon's scaling parts over simulated children, queues and CPUs, as daemon/parts.ts builds them over real ones. */
function buildPool(trace: Trace, pool: SimPool, policy: ScalePolicy): SimulatedPool {
  const time = new VirtualTime();
  const record = new SimRecord(trace, pool.scalingPeriod * 1000);
  const queues = new SimulatedQueues(trace, pool.queues ?? [], time, PREFIX);
  const cpu = new SimulatedCpu(pool.cores, () => time.now);
  const world: SimulatedWorld = { time, queues, cpu, record, spawnMs: pool.spawnSeconds * 1000, rssBytes: pool.workerMemoryMb * 1048576 };
  let children = 0;
  const windowMs = pool.window * 1000;
  const supervisor = new Supervisor({
    settings: childSettings(pool, queues.order),
    windowMs,
    clock: time.clock,
    log: silent,
    startChild: () => new SimulatedChild(++children, world),
  });
  const scaling = buildScaling({
    supervisor,
    policy,
    limits: { minWorkers: pool.minWorkers, maxWorkers: pool.maxWorkers, threshold: pool.threshold, scalingPeriodMs: pool.scalingPeriod * 1000 },
    demand: new PoolDemand(supervisor, queues, time.clock, windowMs, undefined, cpu, (w) => (w.child instanceof SimulatedChild ? w.child.schedTimes() : undefined), SIMULATED_HOST_MEMORY),
    markers: { connect: () => queues.markerConnection(), prefix: PREFIX, queues: queues.order },
    sampleIntervalMs: pool.sampleInterval * 1000,
    clock: time.clock,
    log: silent,
    timers: time,
  });
  scaling.loop.onDecision((d) => record.decision(d, time.now, queues.waitingCount));
  return { time, record, queues, supervisor, scaling };
}

/** What a simulated child is started with: the pool's settings (Redis and the processor mean nothing here). */
function childSettings(pool: SimPool, queues: string[]): SupervisorOptions['settings'] {
  return {
    pool: 'simulated',
    redisUrl: '',
    prefix: PREFIX,
    queues,
    processor: '',
    concurrency: pool.concurrency,
    sampleIntervalMs: pool.sampleInterval * 1000,
    orphanTimeoutMs: 0,
    logLevel: 'silent',
    logPretty: false,
    lockDurationMs: 0,
    stalledIntervalMs: 0,
    maxStalledCount: 0,
    jobTimeoutMs: 0,
    maxJobs: 0,
  };
}
