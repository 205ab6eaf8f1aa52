/**
 * The fleet's lease and heartbeat, from what the user wrote: a value not given is derived from the
 * lock duration (the lease) and the lease (the heartbeat), so that every lock duration starts; only
 * values the user wrote can contradict each other (a ConfigError naming them).
 */
import { ConfigError } from './schema.js';

/** By default a lease is 5 s and a heartbeat 1 s: a dead host is noticed in about 5 s. */
const LEASE_SECONDS = 5;
const HEARTBEAT_SECONDS = 1;
/** A derived heartbeat leaves a lease at least this many heartbeats long, as the defaults do. */
const BEATS_PER_LEASE = 5;
/** A derived heartbeat is never shorter than this (a renewal is one script on Redis). */
const MIN_HEARTBEAT_SECONDS = 0.1;

export interface FleetTimingInput {
  lockDuration: number;
  /** Undefined when not written (file, environment or flag). */
  leaseSeconds: number | undefined;
  heartbeatSeconds: number | undefined;
  /** Whether lock-duration was written (for the error messages). */
  lockDurationGiven: boolean;
}

/**
 * The lease must stay below the lock (a dead host's jobs are still locked with its tokens when a peer
 * claims them, so the lock-checked hand-back can tell them apart) and above the heartbeat (one late
 * renewal must not lose it). Not given, the lease is 5 s, or half the lock duration when that is
 * less (BullMQ renews a lock every half of it, so a dead host's locks last at least that long), and
 * the heartbeat 1 s, or a fifth of the lease when that is less (not under 0.1 s). A lease derived next to a written
 * heartbeat it would not stay above is taken halfway between the heartbeat and the lock.
 */
export function fleetTiming(o: FleetTimingInput): { leaseSeconds: number; heartbeatSeconds: number } {
  const lock = `lock-duration (${o.lockDuration}${o.lockDurationGiven ? '' : ', the default'})`;
  if (o.leaseSeconds === undefined && o.heartbeatSeconds !== undefined && o.heartbeatSeconds >= o.lockDuration) {
    throw new ConfigError(`heartbeat-seconds: ${o.heartbeatSeconds} is not allowed; it must be below ${lock}, with room for a lease between them`);
  }
  let lease = o.leaseSeconds ?? Math.min(LEASE_SECONDS, o.lockDuration / 2);
  if (o.leaseSeconds === undefined && o.heartbeatSeconds !== undefined && lease <= o.heartbeatSeconds) lease = (o.heartbeatSeconds + o.lockDuration) / 2;
  const heartbeat = o.heartbeatSeconds ?? Math.max(MIN_HEARTBEAT_SECONDS, Math.min(HEARTBEAT_SECONDS, lease / BEATS_PER_LEASE));
  if (lease >= o.lockDuration) {
    throw new ConfigError(`lease-seconds: ${lease} is not allowed; it must be below ${lock}, so a dead host's jobs are still locked by its workers when a peer claims them`);
  }
  if (lease <= heartbeat) {
    throw new ConfigError(`lease-seconds: ${lease} is not allowed; it must be above heartbeat-seconds (${heartbeat}), so one late renewal does not lose the lease`);
  }
  return { leaseSeconds: lease, heartbeatSeconds: heartbeat };
}
