/** `worker-pool status --fleet`: every pool instance on every host sharing this daemon's Redis, from its GET /fleet. */
import type { FleetView } from '../fleet/view.js';
import { table } from './table.js';

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(0)}%`;
}

export function formatFleet(v: FleetView): string {
  if (v.instances.length === 0) return 'no instance is registered on this Redis and prefix';
  const live = v.instances.filter((i) => i.state === 'live');
  const lines = [
    `● fleet: ${live.length} live of ${v.instances.length} instances, ${live.reduce((n, i) => n + i.workers, 0)} workers, ${live.reduce((n, i) => n + i.busy, 0)} busy`,
    '',
    table([
      ['HOST', 'INSTANCE', 'POOL', 'STATE', 'WORKERS', 'BUSY/SLOTS', 'UTIL', 'QUEUES', 'HEARTBEAT'],
      ...v.instances.map((i) => [
        i.host,
        i.name,
        i.pool,
        i.state === 'live' ? 'live' : i.state.toUpperCase(),
        String(i.workers),
        `${i.busy}/${i.workers * i.concurrency}`,
        pct(i.utilization),
        i.queues.join(','),
        `${i.heartbeatAgeSeconds.toFixed(1)}s ago`,
      ]),
    ]),
  ];
  return lines.join('\n');
}
