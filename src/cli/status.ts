/** `worker-pool status`: what the running daemon says about itself, as a table or JSON. */
import type { PoolStatus } from '../daemon.js';
import { EXIT } from './exit-codes.js';

export interface StatusOptions {
  url: string;
  json: boolean;
}

function mb(bytes: number): string {
  return bytes > 0 ? `${Math.round(bytes / 1024 / 1024)} MiB` : '-';
}

function pct(x: number | null): string {
  return x === null ? 'n/a' : `${(x * 100).toFixed(0)}%`;
}

export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}

export function formatStatus(s: PoolStatus): string {
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
        ['QUEUE', 'WAITING', 'ACTIVE', 'DELAYED', 'PRIORITIZED', 'FAILED', 'COMPLETED'],
        ...Object.entries(s.queueCounts).map(([q, c]) => [q, String(c.waiting), String(c.active), String(c.delayed), String(c.prioritized), String(c.failed), String(c.completed)]),
      ]),
    );
  }
  const recent = s.decisions.filter((d) => d.action !== 'hold').slice(-5);
  if (recent.length) {
    lines.push('');
    lines.push('recent scaling:');
    for (const d of recent) lines.push(`  ${new Date(d.at).toISOString()} ${d.action} ${d.workersBefore}→${d.workersAfter}: ${d.reason}`);
  }
  return lines.join('\n');
}

export async function runStatus(o: StatusOptions, out: (line: string) => void = console.log): Promise<number> {
  const base = o.url.replace(/\/+$/, '');
  let body: PoolStatus;
  try {
    const res = await fetch(`${base}/status`, { signal: AbortSignal.timeout(5000) });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    body = (await res.json()) as PoolStatus;
  } catch (err) {
    out(`worker-pool status: nothing answers at ${base} (${(err as Error).cause ? String(((err as Error).cause as Error).message ?? (err as Error).cause) : (err as Error).message})`);
    return EXIT.NOT_RUNNING;
  }
  out(o.json ? JSON.stringify(body, null, 2) : formatStatus(body));
  return body.ready ? EXIT.OK : EXIT.NOT_READY;
}
