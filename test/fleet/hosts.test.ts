/**
 * Issue 14 with real hosts: each host a network namespace (see lab.ts), Redis in its own, real
 * daemons reaching it over veth pairs. Power-off (link down + SIGKILL of every process), a 20 s
 * partition, a pause of twice the lease (SIGSTOP/SIGCONT), and the fleet view. Times are printed
 * (README's table), and bounded only generously: well below BullMQ's stalled check (30–60 s).
 */
import { describe, expect, it } from 'vitest';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { FleetInstance, FleetView } from '../../src/fleet/view.js';
import { until } from '../helpers/wait.js';
import { FIXTURES, labPerTest, type Host, type HostDaemon, type Lab } from './lab.js';

const LEASE_S = 5;
const openLab = labPerTest();

interface World {
  lab: Lab;
  url: string;
  redis: Redis;
  prefix: string;
  q: Queue;
  runs: string;
  start(host: Host, extra?: string[]): Promise<HostDaemon>;
}

async function world(): Promise<World> {
  const l = await openLab();
  const url = await l.startRedis();
  const prefix = `fleet${l.id}`;
  const q = l.queue(url, prefix);
  const args = ['--redis-url', url, '--prefix', prefix, '--queues', 'q', '--processor', `${FIXTURES}/record.mjs`, '--name', 'pool', '--concurrency', '2', '--min-workers', '2', '--max-workers', '2', '--stop-timeout', '2'];
  return { lab: l, url, redis: l.client(url), prefix, q, runs: `${prefix}:runs`, start: (host, extra = []) => l.startDaemon(host, [...args, ...extra]) };
}

async function fleet(d: HostDaemon): Promise<FleetView> {
  const res = await fetch(`${d.url}/fleet`, { signal: AbortSignal.timeout(3000) });
  return (await res.json()) as FleetView;
}

/** The instance of a host in a fleet view. */
const on = (v: FleetView, host: Host): FleetInstance | undefined => v.instances.find((i) => i.host === host.name);

/** Until `host` is live in the fleet `peer` sees, registered again under an epoch newer than `epoch`. */
function rejoined(peer: HostDaemon, host: Host, epoch: number, what: string): Promise<FleetInstance> {
  return until(async () => {
    const i = on(await fleet(peer), host);
    return i?.state === 'live' && i.epoch > epoch ? i : undefined;
  }, what, 30_000, 100);
}

/** Jobs `${tag}-0…n-1` of `ms` (a retry runs `retryMs`), recorded per run in w.runs. */
async function addJobs(w: World, tag: string, n: number, ms: number): Promise<string[]> {
  const ids = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
  await w.q.addBulk(ids.map((id) => ({ name: 'long', data: { ms, retryMs: 300, record: w.runs, redis: w.url }, opts: { jobId: id } })));
  return ids;
}

/** Which jobs hold a lock of this epoch's instance (token bases start with `e${epoch}/`). */
async function lockedBy(w: World, ids: string[], epoch: number): Promise<string[]> {
  const locks = await Promise.all(ids.map((id) => w.redis.get(`${w.prefix}:q:${id}:lock`)));
  return ids.filter((_, i) => locks[i]?.startsWith(`e${epoch}/`));
}

/** Until the host's daemon runs no job (its old workers finished what they ran when it was cut off). */
async function idleOn(d: HostDaemon): Promise<void> {
  await until(async () => {
    const s = (await (await fetch(`${d.url}/status`, { signal: AbortSignal.timeout(3000) })).json()) as { workers: Array<{ busy: number }> };
    return s.workers.every((w) => w.busy === 0);
  }, `${d.host.name} to finish its old runs`, 60_000, 200);
}

/** Every job completed, each run counted; nothing waiting, active or failed. */
async function settle(w: World, ids: string[], timeoutMs = 90_000): Promise<{ duplicates: number }> {
  await until(async () => (await w.q.getCompletedCount()) === ids.length, `all ${ids.length} jobs completed`, timeoutMs, 200);
  const runs = await w.redis.hgetall(w.runs);
  expect(Object.keys(runs).sort()).toEqual([...ids].sort());
  expect(await w.q.getJobCounts('wait', 'active', 'failed')).toEqual({ wait: 0, active: 0, failed: 0 });
  return { duplicates: Object.values(runs).reduce((n, c) => n + Number(c) - 1, 0) };
}

/**
 * Host `victim` runs `n` long jobs (it starts alone, so it takes them all), then `peers` start with
 * free slots. Returns the victim's epoch and its jobs.
 */
async function victimWithJobs(w: World, victim: Host, peers: Host[], n: number, ms: number): Promise<{ dv: HostDaemon; dps: HostDaemon[]; epoch: number; ids: string[] }> {
  const dv = await w.start(victim);
  const self = await until(async () => on(await fleet(dv), victim), 'the victim registered', 20_000);
  const ids = await addJobs(w, 'job', n, ms);
  await until(async () => (await lockedBy(w, ids, self.epoch)).length === n, `the victim running all ${n} jobs`, 30_000).catch(async (err: Error) => {
    const locks = await Promise.all(ids.map((id) => w.redis.get(`${w.prefix}:q:${id}:lock`)));
    throw new Error(`${err.message}; locks ${JSON.stringify(locks)}, epoch ${self.epoch}; log:\n${dv.output.split('\n').slice(-15).join('\n')}`);
  });
  const dps = await Promise.all(peers.map((p) => w.start(p)));
  await until(async () => (await fleet(dps[0]!)).instances.filter((i) => i.state === 'live').length === peers.length + 1, 'every host registered', 20_000);
  // The peers' workers ready to take jobs, so "running elsewhere" measures the recovery, not their start-up.
  for (const d of dps) {
    await until(async () => ((await (await fetch(`${d.url}/status`)).json()) as { runningWorkers: number }).runningWorkers === 2, `${d.host.name}'s workers ready`, 30_000, 100);
  }
  return { dv, dps, epoch: self.epoch, ids };
}

/** Watch the victim's jobs: when each is no longer locked by it (back), and when it runs elsewhere. */
async function watchRecovery(w: World, ids: string[], epoch: number, since: number, timeoutMs: number): Promise<{ backMs: number; elsewhereMs: number }> {
  let backMs = NaN;
  const keys = ids.map((id) => `${w.prefix}:q:${id}:lock`);
  await until(async () => {
    const locks = await Promise.all(keys.map((k) => w.redis.get(k)));
    const stillVictim = locks.filter((l) => l?.startsWith(`e${epoch}/`)).length;
    if (stillVictim === 0 && Number.isNaN(backMs)) backMs = Date.now() - since;
    if (stillVictim > 0) return false;
    // Running elsewhere: locked by another host, or already run to its end there (a retry is short).
    const states = await Promise.all(ids.map((id, i) => (locks[i] !== null ? 'locked' : w.q.getJobState(id))));
    return states.every((st) => st === 'locked' || st === 'completed');
  }, "the victim's jobs running on other hosts", timeoutMs, 25);
  return { backMs, elsewhereMs: Date.now() - since };
}

describe('fleet across network namespaces', () => {
  it('view: /fleet lists every live instance within a heartbeat of its start, and a powered-off one stops being live within the lease', async () => {
    const w = await world();
    const hosts = await Promise.all(['h1', 'h2', 'h3'].map((n) => w.lab.addHost(n)));
    const ds: HostDaemon[] = [];
    const seenMs: number[] = [];
    for (const h of hosts) {
      const d = await w.start(h);
      ds.push(d);
      const t0 = Date.now();
      await until(async () => on(await fleet(ds[0]!), h)?.state === 'live', `${h.name} listed`, 10_000, 20);
      seenMs.push(Date.now() - t0);
    }
    const view = await fleet(ds[1]!);
    expect(view.instances.map((i) => i.host).sort()).toEqual(['h1', 'h2', 'h3']);
    for (const i of view.instances) expect(i).toMatchObject({ pool: 'pool', name: 'pool', queues: ['q'], concurrency: 2, state: 'live' });
    const killedAt = Date.now();
    await w.lab.powerOff(hosts[2]!);
    const notLive = await until(async () => {
      const i = on(await fleet(ds[0]!), hosts[2]!);
      return i === undefined || i.state !== 'live' ? (i?.state ?? 'removed') : undefined;
    }, 'h3 no longer live', 30_000, 50);
    const lostMs = Date.now() - killedAt;
    console.log(`view: listed ${seenMs.join(', ')} ms after "listening" (heartbeat 1 s); powered-off host shown ${notLive} after ${lostMs} ms (lease ${LEASE_S} s)`);
    expect(lostMs).toBeLessThan(LEASE_S * 1000 + 5000);
  });

  it("power-off: a host's running jobs are back and running on the other hosts within seconds, none lost", async () => {
    const w = await world();
    const [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => w.lab.addHost(n)));
    const { epoch, ids } = await victimWithJobs(w, c!, [a!, b!], 4, 60_000);
    const killedAt = Date.now();
    await w.lab.powerOff(c!);
    const { backMs, elsewhereMs } = await watchRecovery(w, ids, epoch, killedAt, 40_000);
    const { duplicates } = await settle(w, ids);
    console.log(`power-off: 4 running jobs; kill → back in waiting ${backMs} ms, → running on another host ${elsewhereMs} ms (lease ${LEASE_S} s; BullMQ's stalled check: 30–60 s); duplicates ${duplicates}`);
    expect(duplicates).toBe(0);
    expect(backMs).toBeLessThan(LEASE_S * 1000 + 10_000);
  });

  it('partition: a host cut off for 20 s has its jobs run elsewhere, rejoins under a new epoch; nothing lost, duplicates ≤ its running jobs', async () => {
    const w = await world();
    const [a, b] = await Promise.all(['a', 'b'].map((n) => w.lab.addHost(n)));
    const { dv, dps, epoch, ids } = await victimWithJobs(w, a!, [b!], 4, 25_000);
    const cutAt = Date.now();
    await w.lab.linkDown(a!);
    const { backMs, elsewhereMs } = await watchRecovery(w, ids, epoch, cutAt, 40_000);
    await new Promise((r) => setTimeout(r, Math.max(0, 20_000 - (Date.now() - cutAt))));
    await w.lab.linkUp(a!);
    const upAt = Date.now();
    const again = await rejoined(dps[0]!, a!, epoch, 'the cut-off host registered again');
    const rejoinMs = Date.now() - upAt;
    await idleOn(dv);
    const { duplicates } = await settle(w, ids);
    console.log(`partition 20 s: 4 running jobs back after ${backMs} ms, running elsewhere after ${elsewhereMs} ms; rejoined under epoch ${again.epoch} (was ${epoch}) ${rejoinMs} ms after the link came up; duplicates ${duplicates} (bound 4)`);
    expect(duplicates).toBeLessThanOrEqual(ids.length);
  });

  it('pause: a supervisor and its children SIGSTOPped for twice the lease; jobs run elsewhere, it rejoins under a new epoch; nothing lost', async () => {
    const w = await world();
    const [a, b] = await Promise.all(['a', 'b'].map((n) => w.lab.addHost(n)));
    const { dv, dps, epoch, ids } = await victimWithJobs(w, a!, [b!], 4, 20_000);
    const stopAt = Date.now();
    await w.lab.signalAll(a!, 'SIGSTOP');
    const { backMs } = await watchRecovery(w, ids, epoch, stopAt, 40_000);
    await new Promise((r) => setTimeout(r, Math.max(0, 2 * LEASE_S * 1000 - (Date.now() - stopAt))));
    await w.lab.signalAll(a!, 'SIGCONT');
    const contAt = Date.now();
    const again = await rejoined(dps[0]!, a!, epoch, 'the paused host registered again');
    const rejoinMs = Date.now() - contAt;
    await idleOn(dv);
    const { duplicates } = await settle(w, ids);
    console.log(`pause ${2 * LEASE_S} s: 4 running jobs back after ${backMs} ms; rejoined under epoch ${again.epoch} (was ${epoch}) ${rejoinMs} ms after SIGCONT; duplicates ${duplicates} (bound 4)`);
    expect(duplicates).toBeLessThanOrEqual(ids.length);
  });
});
