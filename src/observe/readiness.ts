/**
 * Why the pool is not ready, as sentences for /readyz and /status: each check the daemon makes,
 * given as plain facts. Pure: the daemon gathers the facts, this decides and words them.
 */
export interface ReadinessFacts {
  redisUp: boolean;
  /** What is known of Redis being down (address, last error), to say instead of a bare "does not answer". */
  redisDown?: string;
  loopHealthy: boolean;
  running: number;
  minWorkers: number;
  fatalSlots: number;
  /** Running workers whose fetches fail now (see FetchHealth). */
  fetchFailing: number;
  fetchErrorsTotal: number;
  /** Set when the supervisor's own connection reaches a replica. */
  replicaOf?: string;
  /** Set while this daemon holds no fleet registration (workers start only once it does), with why. */
  unregistered?: string;
}

export function readinessReasons(f: ReadinessFacts): string[] {
  const out: string[] = [];
  if (!f.redisUp) out.push(f.redisDown ?? 'Redis does not answer');
  if (f.replicaOf !== undefined) out.push(`Redis is a read-only replica (of ${f.replicaOf}); jobs cannot be fetched from it`);
  if (f.unregistered !== undefined) out.push(`not registered in the fleet registry yet, so no worker starts (${f.unregistered})`);
  if (!f.loopHealthy) out.push('the control loop is not running');
  if (f.running < f.minWorkers) out.push(`${f.running} of at least ${f.minWorkers} workers running`);
  if (f.fatalSlots > 0) out.push(`${f.fatalSlots} worker slot${f.fatalSlots === 1 ? '' : 's'} stopped restarting a failing worker`);
  if (f.running > 0 && f.fetchFailing >= f.running) out.push(`every running worker fails to fetch jobs (${f.fetchErrorsTotal} fetch errors so far; READONLY or NOPERM from Redis? see the workers' logs)`);
  return out;
}
