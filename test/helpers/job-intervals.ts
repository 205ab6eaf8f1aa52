/**
 * The processor's own record of when each worker process ran a job (test/fixtures/intervals.mjs),
 * read back: per process, the time spans in which it ran at least one job, and the most processes
 * running jobs at any one instant. A run that has no end line (its process was killed) is counted
 * until its last tick plus one tick period and a margin: never shorter than it really was.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The fixture's tick period, and how late a tick may be on a busy host. */
const TICK_MS = 100;
const LATE_MS = 100;

export interface Run {
  pid: number;
  job: string;
  start: number;
  /** When it ended, or an upper bound for a run without an end line. */
  end: number;
  ended: boolean;
}

/** Every run recorded in `dir`. */
export function readRuns(dir: string): Run[] {
  const runs: Run[] = [];
  for (const f of readdirSync(dir)) {
    const pid = Number(path.basename(f, '.log'));
    const open = new Map<string, Run[]>();
    for (const line of readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const [kind, job, t] = line.split(' ');
      if (!kind || job === undefined || t === undefined) continue;
      const at = Number(t);
      const runsOfJob = open.get(job) ?? [];
      if (kind === 'S') {
        const r: Run = { pid, job, start: at, end: at + TICK_MS + LATE_MS, ended: false };
        runsOfJob.push(r);
        runs.push(r);
        open.set(job, runsOfJob);
      } else if (kind === 'T') {
        for (const r of runsOfJob) if (!r.ended) r.end = Math.max(r.end, at + TICK_MS + LATE_MS);
      } else if (kind === 'E') {
        const r = runsOfJob.find((x) => !x.ended);
        if (r) Object.assign(r, { end: at, ended: true });
      }
    }
  }
  return runs;
}

/** The most processes running at least one job at the same instant, and when. */
export function mostBusyProcesses(runs: readonly Run[]): { most: number; at: number; pids: number[] } {
  // Per process, the union of its runs; then a sweep over every process's spans.
  const events: Array<[number, number, number]> = [];
  const byPid = new Map<number, Run[]>();
  for (const r of runs) byPid.set(r.pid, [...(byPid.get(r.pid) ?? []), r]);
  for (const [pid, rs] of byPid) {
    rs.sort((a, b) => a.start - b.start);
    let cur: [number, number] | undefined;
    for (const r of rs) {
      if (cur && r.start <= cur[1]) cur[1] = Math.max(cur[1], r.end);
      else {
        if (cur) events.push([cur[0], 1, pid], [cur[1], -1, pid]);
        cur = [r.start, r.end];
      }
    }
    if (cur) events.push([cur[0], 1, pid], [cur[1], -1, pid]);
  }
  // Ends before starts at the same instant: touching spans do not overlap.
  events.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let n = 0;
  let best = { most: 0, at: 0, pids: [] as number[] };
  const busy = new Set<number>();
  for (const [t, d, pid] of events) {
    n += d;
    if (d > 0) busy.add(pid);
    else busy.delete(pid);
    if (n > best.most) best = { most: n, at: t, pids: [...busy] };
  }
  return best;
}
