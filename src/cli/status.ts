/**
 * `worker-pool status`: what the running daemon says about itself, as a table or JSON; with
 * --watch, redrawn every --interval seconds until Ctrl-C (like `watch worker-pool status`); with
 * --fleet, every instance on its Redis instead (see fleet-status.ts).
 */
import type { PoolStatus } from '../daemon.js';
import type { FleetView } from '../fleet/view.js';
import { EXIT } from './exit-codes.js';
import { fetchFleet, formatFleet } from './fleet-status.js';

export interface StatusOptions {
  url: string;
  json: boolean;
  watch?: boolean;
  /** Seconds between redraws with --watch. */
  interval?: number;
  /** Every instance on the daemon's Redis (GET /fleet) instead of this one's status. */
  fleet?: boolean;
}

function mb(bytes: number): string {
  return bytes > 0 ? `${Math.round(bytes / 1024 / 1024)} MiB` : '-';
}

function age(seconds: number | undefined): string {
  if (seconds === undefined) return '-';
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(seconds / 3600)}h${String(Math.floor((seconds % 3600) / 60)).padStart(2, '0')}m`;
}

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(0)}%`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatStatus(s: PoolStatus, now: number = Date.now()): string {
  const lines: string[] = [];
  lines.push(`● worker-pool ${s.pool} — ${s.ready ? 'ready' : 'NOT READY'}`);
  lines.push(`  redis: ${s.redis.url} (${s.redis.up ? 'up' : 'DOWN'})   queues: ${s.queues.join(', ')}`);
  lines.push(`  workers: ${s.runningWorkers} running, desired ${s.desiredWorkers} (min ${s.minWorkers}, max ${s.maxWorkers})`);
  lines.push(`  utilization: ${pct(s.utilization)} over ${s.windowSeconds} s (add above ${pct(s.utilizationThreshold)}, remove below ${pct(s.utilizationThreshold / 2)})`);
  for (const f of s.fatalSlots) lines.push(`  FATAL ${f.id}: ${f.failedStarts} failed starts, retry in ${f.retryInSeconds} s: ${f.lastError ?? ''}`);
  lines.push('');
  lines.push(
    table([
      ['WORKER', 'PID', 'STATE', 'BUSY', 'DONE', 'FAILED', 'RSS', 'UPTIME'],
      ...s.workers.map((w) => [w.id, String(w.pid ?? '-'), w.state, `${w.busy}/${w.concurrency}`, String(w.processed), String(w.failed), mb(w.rssBytes), `${Math.round(w.uptimeSeconds)}s`]),
    ]),
  );
  if (s.queueCounts) {
    lines.push('');
    lines.push(
      table([
        ['QUEUE', 'WAITING', 'ACTIVE', 'DELAYED', 'PRIORITIZED', 'FAILED', 'COMPLETED', 'OLDEST'],
        ...Object.entries(s.queueCounts).map(([q, c]) => [
          (s.pausedQueues ?? []).includes(q) ? `${q} (paused: ${c.paused})` : q,
          String(c.waiting),
          String(c.active),
          String(c.delayed),
          String(c.prioritized),
          String(c.failed),
          String(c.completed),
          age(s.queueOldestAgeSeconds?.[q]),
        ]),
      ]),
    );
  }
  // The changes are kept apart from the holds (and across restarts); an older daemon sends decisions only.
  const recent = (s.changes ?? s.decisions.filter((d) => d.action !== 'hold')).slice(-5);
  lines.push('');
  if (recent.length) {
    lines.push('recent scaling (local time):');
    for (const d of recent) lines.push(`  ${localTime(d.at, now)} ${d.action} ${d.workersBefore}→${d.workersAfter}: ${d.reason}`);
  } else {
    lines.push('recent scaling: none yet');
  }
  return lines.join('\n');
}

/**
 * Local wall-clock time, as the live page shows it: HH:MM:SS today, else with the date in front,
 * and how long ago.
 */
export function localTime(ms: number, now: number = Date.now()): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, '0');
  const clock = `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  const n = new Date(now);
  const sameDay = d.getFullYear() === n.getFullYear() && d.getMonth() === n.getMonth() && d.getDate() === n.getDate();
  const when = sameDay ? clock : `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${clock}`;
  return `${when} (${age(Math.max(0, (now - ms) / 1000))} ago)`;
}

async function fetchStatus(base: string): Promise<PoolStatus | string> {
  try {
    const res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    return (await res.json()) as PoolStatus;
  } catch (err) {
    const cause = (err as Error).cause as Error | undefined;
    return `worker-pool status: nothing answers at ${base} (${cause ? String(cause.message ?? cause) : (err as Error).message})`;
  }
}

type Look = PoolStatus | FleetView | string;

const exitCode = (s: Look) => (typeof s === 'string' ? EXIT.NOT_RUNNING : 'instances' in s || s.ready ? EXIT.OK : EXIT.NOT_READY);

/**
 * Print the status once, or with `watch` redraw it every `interval` seconds until `stop` resolves
 * (Ctrl-C from the CLI); the exit code is that of the last look: 0 ready, 1 not ready, 3 nothing answers.
 */
export async function runStatus(o: StatusOptions, out: (line: string) => void = console.log, stop?: Promise<void>): Promise<number> {
  const base = o.url.replace(/\/+$/, '');
  const render = (s: Look) => (typeof s === 'string' ? s : o.json ? JSON.stringify(s, null, 2) : 'instances' in s ? formatFleet(s) : formatStatus(s));
  const look = (): Promise<Look> => (o.fleet ? fetchFleet(base) : fetchStatus(base));
  if (!o.watch) {
    const s = await look();
    out(render(s));
    return exitCode(s);
  }
  const clear = process.stdout.isTTY && out === console.log && !o.json ? '\x1b[H\x1b[2J' : '';
  const everyMs = (o.interval ?? 2) * 1000;
  let stopped = false;
  let wake: (() => void) | undefined;
  void stop?.then(() => {
    stopped = true;
    wake?.();
  });
  let last: Look = '';
  while (!stopped) {
    last = await look();
    if (stopped) break;
    out(`${clear}${o.json ? '' : `every ${everyMs / 1000} s, Ctrl-C to quit — ${localTime(Date.now()).replace(/ \(.*/, '')}\n`}${render(last)}`);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, everyMs);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }
  return exitCode(last);
}
