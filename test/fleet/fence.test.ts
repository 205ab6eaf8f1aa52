/**
 * Issue 25, item 1, with real hosts (network namespaces, see lab.ts): three hosts share
 * --fleet-max-workers 4 over a steady load, and one host's supervisor alone is SIGSTOPped for
 * three leases (its children keep running), or one host is cut off from Redis for three leases.
 * The processor records, per process, when it runs each job (test/fixtures/intervals.mjs; every
 * host writes to one directory, and times are on the machine's monotonic clock): at no instant do
 * more processes run jobs than the cap, every job completes exactly once in Redis and none stays
 * active. How soon the host's workers stopped, and how soon its cut-short jobs ran again
 * elsewhere, are printed (docs/fleet.md's table).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { mostBusyProcesses, readRuns, type Run } from '../helpers/job-intervals.js';
import { FIXTURES, Lab, type Host, type HostDaemon } from './lab.js';

const CAP = 4;
const LEASE_S = 5;
const JOBS = 200;

let lab: Lab | undefined;
let q: Queue | undefined;
let dir = '';
afterEach(async () => {
  await q?.close().catch(() => undefined);
  q = undefined;
  await lab?.close();
  lab = undefined;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const mono = () => Number(process.hrtime.bigint()) / 1e6;

async function until<T>(check: () => Promise<T> | T, what: string, timeoutMs: number, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await Promise.resolve().then(check).catch(() => undefined);
    if (v) return v as NonNullable<T>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

interface Fleet {
  l: Lab;
  url: string;
  prefix: string;
  hosts: Host[];
  daemons: Map<Host, HostDaemon>;
}

async function fleetUnderLoad(): Promise<Fleet> {
  lab = await Lab.open();
  const l = lab;
  const url = await l.startRedis();
  const prefix = `fence${l.id}`;
  dir = mkdtempSync(path.join(tmpdir(), 'wp-fence-'));
  q = new Queue('q', { connection: { url, maxRetriesPerRequest: null } as never, prefix });
  await q.addBulk(Array.from({ length: JOBS }, (_, i) => ({ name: 'j', data: { ms: 400, dir }, opts: { jobId: `j${i}` } })));
  const args = ['--redis-url', url, '--prefix', prefix, '--queues', 'q', '--processor', `${FIXTURES}/intervals.mjs`, '--name', 'capped', '--concurrency', '1', '--min-workers', '3', '--max-workers', '3', '--fleet-max-workers', String(CAP), '--scaling-period', '1', '--window', '1', '--stop-timeout', '2'];
  const hosts = await Promise.all(['h1', 'h2', 'h3'].map((n) => l.addHost(n)));
  const daemons = new Map<Host, HostDaemon>();
  for (const h of hosts) daemons.set(h, await l.startDaemon(h, args));
  const workers = () => hosts.reduce((n, h) => n + l.workerCount(Lab.childrenOf(new Set([daemons.get(h)!.proc.pid!]))), 0);
  await until(() => workers() === CAP, `${CAP} workers across the hosts`, 60_000);
  return { l, url, prefix, hosts, daemons };
}

/** The host with the most workers now, and their pids. */
function busiest(f: Fleet): { host: Host; children: number[] } {
  const of = (h: Host) => Lab.childrenOf(new Set([f.daemons.get(h)!.proc.pid!])).filter((p) => f.l.workerCount([p]) === 1);
  const host = [...f.hosts].sort((a, b) => of(b).length - of(a).length)[0]!;
  return { host, children: of(host) };
}

/** Every job completed exactly once in Redis (one `completed` event each), nothing left active or waiting. */
async function everyJobOnce(f: Fleet): Promise<void> {
  await until(async () => (await q!.getCompletedCount()) === JOBS, `all ${JOBS} jobs completed`, 120_000, 250);
  expect(await q!.getJobCounts('active', 'wait', 'failed')).toEqual({ active: 0, wait: 0, failed: 0 });
  const entries = await f.l.client(f.url).xrange(`${f.prefix}:q:events`, '-', '+');
  const completions = new Map<string, number>();
  for (const [, fields] of entries) {
    const e = Object.fromEntries(Array.from({ length: fields.length / 2 }, (_, i) => [fields[2 * i], fields[2 * i + 1]]));
    if (e['event'] === 'completed') completions.set(e['jobId']!, (completions.get(e['jobId']!) ?? 0) + 1);
  }
  expect(completions.size).toBe(JOBS);
  expect([...completions.values()].filter((n) => n > 1)).toEqual([]);
}

/** After the event at `at`: when the host's workers last ran a job, when its jobs that ran again elsewhere had started there, jobs run twice. */
function figures(runs: readonly Run[], children: readonly number[], at: number): { stoppedMs: number; text: string } {
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  const stoppedMs = Math.max(0, ...runs.filter((r) => children.includes(r.pid)).map((r) => r.end)) - at;
  // Its runs around the event that ran again on another process (cut short, or ended but not recorded).
  const redone = runs.filter((r) => children.includes(r.pid) && r.end > at - 1000 && runs.some((o) => o.job === r.job && o.pid !== r.pid && o.start > r.start));
  const again = redone.map((c) => Math.min(...runs.filter((r) => r.job === c.job && r.pid !== c.pid && r.start > c.start).map((r) => r.start)) - at);
  const perJob = new Map<string, number>();
  for (const r of runs) perJob.set(r.job, (perJob.get(r.job) ?? 0) + 1);
  const twice = [...perJob.values()].filter((n) => n > 1).length;
  return { stoppedMs, text: `its workers ran jobs until ${s(stoppedMs)}, its ${redone.length} jobs that ran again elsewhere started there by ${again.length ? s(Math.max(...again)) : '-'}; jobs run twice ${twice}, completed twice 0` };
}

describe('fleet fence across network namespaces', () => {
  it(`a supervisor SIGSTOPped alone for ${3 * LEASE_S} s under --fleet-max-workers ${CAP}: never more than ${CAP} processes run jobs (the processor's record); every job completes once`, { timeout: 240_000 }, async () => {
    const f = await fleetUnderLoad();
    const { host, children } = busiest(f);
    const daemon = f.daemons.get(host)!;
    const at = mono();
    process.kill(daemon.proc.pid!, 'SIGSTOP');
    await new Promise((r) => setTimeout(r, 3 * LEASE_S * 1000));
    process.kill(daemon.proc.pid!, 'SIGCONT');
    await everyJobOnce(f);
    const runs = readRuns(dir);
    const worst = mostBusyProcesses(runs);
    const fig = figures(runs, children, at);
    console.log(`supervisor-only pause ${3 * LEASE_S} s (lease ${LEASE_S} s), cap ${CAP}, ${runs.length} runs: most processes running jobs at once ${worst.most}; after the pause began ${fig.text}`);
    expect(worst.most).toBeLessThanOrEqual(CAP);
    expect(fig.stoppedMs).toBeLessThan(LEASE_S * 1000);
  });

  it(`a host cut off from Redis for ${3 * LEASE_S} s under --fleet-max-workers ${CAP}: never more than ${CAP} processes run jobs (the processor's record); every job completes once`, { timeout: 240_000 }, async () => {
    const f = await fleetUnderLoad();
    const { host, children } = busiest(f);
    const at = mono();
    await f.l.linkDown(host);
    await new Promise((r) => setTimeout(r, 3 * LEASE_S * 1000));
    await f.l.linkUp(host);
    await everyJobOnce(f);
    const runs = readRuns(dir);
    const worst = mostBusyProcesses(runs);
    const fig = figures(runs, children, at);
    console.log(`partition ${3 * LEASE_S} s (lease ${LEASE_S} s), cap ${CAP}, ${runs.length} runs: most processes running jobs at once ${worst.most}; after the cut ${fig.text}`);
    expect(worst.most).toBeLessThanOrEqual(CAP);
    expect(fig.stoppedMs).toBeLessThan(LEASE_S * 1000);
  });
});
