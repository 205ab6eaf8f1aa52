/**
 * What a running pool is made of: its parts (built once, by parts.ts) and the little that changes
 * while it runs (its config, replaced by a reload, and whether it is stopping).
 */
import type { Registry } from 'prom-client';
import type { Clock } from '../clock.js';
import type { PoolConfig } from '../config/load.js';
import type { FleetCap } from '../fleet/cap.js';
import type { FleetMember } from '../fleet/member.js';
import type { Logger } from '../logger.js';
import type { EventStream } from '../observe/event-stream.js';
import type { History } from '../observe/history.js';
import type { GlobalConcurrency } from '../redis/global-concurrency.js';
import type { QueueCountsReader } from '../redis/queue-counts.js';
import type { RedisReachability } from '../redis/reachability.js';
import type { RedisWatch } from '../redis/redis-watch.js';
import type { ArrivalWatch } from '../scaling/arrival-watch.js';
import type { ControlLoop } from '../scaling/control-loop.js';
import type { SaturationWatch } from '../scaling/saturation-watch.js';
import type { FetchHealth } from '../supervisor/fetch-health.js';
import type { FreezeWatch } from '../supervisor/freeze-watch.js';
import type { HandBack } from '../supervisor/hand-back.js';
import type { LockKeeper } from '../supervisor/lock-keeper.js';
import type { Rollout } from '../supervisor/rollout.js';
import type { StuckWatch } from '../supervisor/stuck-watch.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { QueueHandles } from '../redis/queue-handles.js';

/** What changes while a pool runs: its config (a reload replaces it) and whether it is stopping. */
export interface PoolState {
  config: PoolConfig;
  stopping: boolean;
}

export interface PoolParts {
  readonly clock: Clock;
  readonly log: Logger;
  /** The supervisor's own Redis connection and its reads of the pool's queues. */
  readonly queueCounts: QueueCountsReader;
  readonly redisWatch: RedisWatch;
  readonly reachability: RedisReachability;
  readonly globalConcurrency: GlobalConcurrency;
  readonly supervisor: Supervisor;
  readonly handBack: HandBack;
  /** Queues of dead peers that are not this pool's, opened to hand their jobs back. */
  readonly otherQueues: QueueHandles;
  readonly lockKeeper: LockKeeper;
  readonly freezeWatch: FreezeWatch;
  readonly fetchHealth: FetchHealth;
  readonly stuckWatch: StuckWatch;
  readonly rollout: Rollout;
  readonly loop: ControlLoop;
  /** At zero workers, wakes the pool when a job arrives instead of at the next period. */
  readonly arrivals: ArrivalWatch;
  /** With every slot busy, asks for a decision before the period ends. */
  readonly saturation: SaturationWatch;
  readonly fleet: FleetMember;
  readonly fleetCap: FleetCap | undefined;
  readonly registry: Registry;
  readonly events: EventStream;
  readonly history: History;
}
