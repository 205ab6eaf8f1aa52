/**
 * `worker-pool status`: what the running daemon says about itself, as a table or JSON; with
 * --watch, redrawn every --interval seconds until Ctrl-C (like `watch worker-pool status`); with
 * --fleet, every instance on its Redis instead (see fleet-status.ts).
 */
import { readFileSync } from 'node:fs';
import type { PoolStatus } from '../daemon/status.js';
import type { FleetView } from '../fleet/view.js';
import { CliError, EXIT } from './exit-codes.js';
import { formatFleet } from './fleet-status.js';
import { printable, table } from './table.js';

export interface StatusOptions {
  url: string;
  json: boolean;
  watch?: boolean;
  /** Seconds between redraws with --watch. */
  interval?: number;
  /** Every instance on the daemon's Redis (GET /fleet) instead of this one's status. */
  fleet?: boolean;
  /** The Authorization header to send (from credentials(); never from argv). */
  authorization?: string;
}

/** The credentials a daemon with an HTTP access file asks for, read from files so that no secret is in argv. */
export function credentials(o: { tokenFile?: string; user?: string; passwordFile?: string }): string | undefined {
  /** The first line that is not blank (and, in a token file, not a `#` comment as the access file's own token file allows). */
  const firstLine = (flag: string, file: string, comments: boolean): string => {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      throw new CliError(`${flag} ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, EXIT.CONFIG);
    }
    const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !(comments && l.startsWith('#')));
    if (!line) throw new CliError(`${flag} ${file}: the file holds no ${comments ? 'token (only blank or # comment lines)' : 'password'}`, EXIT.CONFIG);
    return line;
  };
  if (o.tokenFile !== undefined && (o.user !== undefined || o.passwordFile !== undefined)) throw new CliError('--token-file and --user/--password-file: give one or the other', EXIT.USAGE);
  if (o.tokenFile !== undefined) return `Bearer ${firstLine('--token-file', o.tokenFile, true)}`;
  if ((o.user === undefined) !== (o.passwordFile === undefined)) throw new CliError('--user and --password-file go together', EXIT.USAGE);
  if (o.user !== undefined) return `Basic ${Buffer.from(`${o.user}:${firstLine('--password-file', o.passwordFile!, false)}`).toString('base64')}`;
  return undefined;
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

/** Why a look got no document: a one-line message and the exit code it means. */
interface NoAnswer {
  message: string;
  exitCode: number;
}

/** GET a JSON document from the daemon, or say in one line why not. */
async function getJson<T>(base: string, path: string, what: string, authorization: string | undefined): Promise<T | NoAnswer> {
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { signal: AbortSignal.timeout(5000), headers: authorization ? { authorization } : {} });
  } catch (err) {
    const cause = (err as Error).cause as Error | undefined;
    return { message: `${what}: nothing answers at ${base} (${cause ? String(cause.message ?? cause) : (err as Error).message})`, exitCode: EXIT.NOT_RUNNING };
  }
  if (res.status === 401 || res.status === 403) {
    const hint = authorization ? 'the credentials given were refused' : 'pass --token-file FILE (a bearer token) or --user NAME --password-file FILE';
    return { message: `${what}: the daemon at ${base} asks for credentials (HTTP ${res.status}): ${hint}`, exitCode: EXIT.NOPERM };
  }
  if (!res.ok) return { message: `${what}: ${base}${path} answered HTTP ${res.status}: ${(await res.text()).trim().split('\n')[0]}`, exitCode: EXIT.NOT_RUNNING };
  return (await res.json()) as T;
}

type Look = PoolStatus | FleetView | NoAnswer;

const isNoAnswer = (s: Look): s is NoAnswer => 'message' in s && 'exitCode' in s;
const exitCode = (s: Look) => (isNoAnswer(s) ? s.exitCode : 'instances' in s || s.ready ? EXIT.OK : EXIT.NOT_READY);

/**
 * Print the status once, or with `watch` redraw it every `interval` seconds until `stop` resolves
 * (Ctrl-C from the CLI); the exit code is that of the last look: 0 ready, 1 not ready, 3 nothing
 * answers, 77 credentials missing or refused.
 */
export async function runStatus(o: StatusOptions, out: (line: string) => void = console.log, stop?: Promise<void>): Promise<number> {
  const base = o.url.replace(/\/+$/, '');
  // JSON escapes control characters itself; text gets them shown, not obeyed (names come from Redis).
  const render = (s: Look) => (o.json && !isNoAnswer(s) ? JSON.stringify(s, null, 2) : printable(isNoAnswer(s) ? s.message : 'instances' in s ? formatFleet(s) : formatStatus(s), true));
  const look = (): Promise<Look> =>
    o.fleet ? getJson<FleetView>(base, '/fleet', 'worker-pool status --fleet', o.authorization) : getJson<PoolStatus>(base, '/status', 'worker-pool status', o.authorization);
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
  let last: Look = { message: '', exitCode: EXIT.NOT_RUNNING };
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
