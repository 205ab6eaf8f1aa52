/**
 * Issue 14 on one machine (loopback): the fleet registry, a SIGKILLed daemon's jobs handed back by
 * exactly one live peer, a restarted daemon recovering its predecessor's jobs at start-up, and the
 * fleet-wide cap under racing daemons. The same with real network namespaces is in test/fleet/.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Queue } from 'bullmq';
import type { Daemon } from '../../src/daemon/daemon.js';
import type { FleetView } from '../../src/fleet/view.js';
import { fixture, startPool, type TestPool } from '../helpers/pool.js';
import { runCli, startCli, type CliProcess } from '../helpers/cli.js';
import { client, deletePrefix, queue as openQueue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { isAlive, until } from '../helpers/wait.js';

let pools: TestPool[] = [];
let clis: CliProcess[] = [];
let queues: Queue[] = [];
let prefixes: string[] = [];

afterEach(async () => {
  for (const c of clis) c.kill('SIGKILL');
  await Promise.allSettled(pools.map((p) => p.stop()));
  await Promise.allSettled(queues.map((q) => q.close()));
  for (const p of prefixes) await deletePrefix(p);
  pools = [];
  clis = [];
  queues = [];
  prefixes = [];
});

function setup(label: string): { prefix: string; q: Queue } {
  const prefix = uniquePrefix(label);
  prefixes.push(prefix);
  const q = openQueue('q', prefix);
  queues.push(q);
  return { prefix, q };
}

/** An in-process daemon on this prefix (not waiting for its workers: under a fleet cap some never start). */
async function peer(prefix: string, flags: Record<string, string> = {}): Promise<Daemon> {
  const p = await startPool({ prefix, queues: 'q', processor: fixture('record.mjs'), 'min-workers': '1', 'max-workers': '1', ...flags }, { waitReady: false });
  pools.push(p);
  return p.daemon;
}

/** Stop a peer as SIGTERM would (its pool is closed after the test). */
async function stopPeer(d: Daemon): Promise<void> {
  await pools.find((p) => p.daemon === d)!.stop();
}

async function fleetOf(d: Daemon): Promise<FleetView> {
  const res = await fetch(`${d.url}/fleet`);
  expect(res.status).toBe(200);
  return (await res.json()) as FleetView;
}

/** SIGKILL a CLI daemon and every child it has at once: a host losing power, as far as Redis can tell. */
async function powerOff(cli: CliProcess): Promise<number[]> {
  const status = await cli.status();
  const pids = [cli.proc.pid!, ...status.workers.map((w) => w.pid!)];
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  await until(() => pids.every((p) => !isAlive(p)), 'every process of the dead daemon gone', 10_000);
  return pids;
}

describe('fleet registry', () => {
  it('GET /fleet lists every daemon on the Redis and prefix with the fixed fields; a clean stop leaves the registry', async () => {
    const { prefix } = setup('fleet-view');
    const a = await peer(prefix, { name: 'alpha' });
    const b = await peer(prefix, { name: 'beta', concurrency: '3' });
    const view = await until(async () => {
      const v = await fleetOf(a);
      return v.instances.length === 2 && v.instances.every((i) => i.workers === 1) ? v : undefined;
    }, 'both instances registered with their worker', 20_000);
    for (const i of view.instances) {
      expect(Object.keys(i)).toEqual(expect.arrayContaining(['host', 'name', 'pid', 'pool', 'queues', 'workers', 'busy', 'concurrency', 'utilization', 'heartbeatAgeSeconds', 'state']));
      expect(i.state).toBe('live');
      expect(i.pid).toBe(process.pid);
      expect(i.queues).toEqual(['q']);
      expect(i.heartbeatAgeSeconds).toBeLessThan(5);
    }
    expect(view.instances.map((i) => i.pool).sort()).toEqual(['alpha', 'beta']);
    expect(view.instances.find((i) => i.pool === 'beta')!.concurrency).toBe(3);
    // The children's token bases carry the registration's epoch.
    const epoch = b.fleet.epoch;
    expect(b.supervisor.workers()[0]!.tokenBase.startsWith(`e${epoch}/`)).toBe(true);
    // `worker-pool status --fleet`: the same as a table, and as JSON.
    const shown = await runCli(['status', '--fleet', '--url', a.url]);
    expect(shown.code).toBe(0);
    const [header, ...rows] = shown.stdout.trim().split('\n').slice(2);
    expect(header!.split(/\s+/)).toEqual(['HOST', 'INSTANCE', 'POOL', 'STATE', 'WORKERS', 'BUSY/SLOTS', 'UTIL', 'QUEUES', 'HEARTBEAT']);
    expect(rows).toHaveLength(2);
    expect(rows.find((r) => r.includes('beta'))).toMatch(/beta\s+beta\s+live\s+1\s+0\/3\s+/);
    const json = await runCli(['status', '--fleet', '--json', '--url', a.url]);
    expect((JSON.parse(json.stdout) as FleetView).instances).toHaveLength(2);
    expect((await runCli(['status', '--fleet', '--url', 'http://127.0.0.1:1'])).code).toBe(3);
    await stopPeer(b);
    const after = await fleetOf(a);
    expect(after.instances.map((i) => i.pool)).toEqual(['alpha']);
  });

  it('a SIGKILLed daemon (and its children): exactly one of two peers claims it and its running jobs are back in waiting, then complete once more', async () => {
    const { prefix, q } = setup('fleet-dead');
    const runs = `${prefix}:runs`;
    const dead = await startCli(['--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'q', '--processor', fixture('record.mjs'), '--name', 'doomed', '--min-workers', '2', '--max-workers', '2', '--concurrency', '2']);
    clis.push(dead);
    await q.addBulk(Array.from({ length: 4 }, (_, i) => ({ name: 'long', data: { ms: 60_000, retryMs: 100, record: runs, redis: redisUrl() }, opts: { jobId: `long-${i}` } })));
    await until(async () => (await q.getActiveCount()) === 4, 'the dead-to-be daemon running all 4 jobs', 30_000);
    // The peers listen to the queue too, but are started only now: they cannot take those jobs.
    const b = await peer(prefix, { name: 'b' });
    const c = await peer(prefix, { name: 'c' });
    const recoveries: string[] = [];
    let claimer: Daemon | undefined;
    for (const d of [b, c]) d.fleet.on('recovered', (r) => (recoveries.push(r.id), (claimer = d)));
    await until(async () => (await fleetOf(b)).instances.length === 3, 'three instances registered', 20_000);
    const killedAt = Date.now();
    await powerOff(dead);
    await until(() => recoveries.length > 0, 'a peer to hand the jobs back', 30_000);
    const backMs = Date.now() - killedAt;
    await until(async () => (await q.getCompletedCount()) === 4, 'all 4 jobs completed by the peers', 60_000);
    console.log(`loopback: daemon SIGKILLed with 4 running jobs → handed back after ${backMs} ms (lease 5 s); claims: ${recoveries.length}`);
    expect(recoveries).toHaveLength(1);
    const metrics = await (await fetch(`${claimer!.url}/metrics`)).text();
    expect(metrics).toMatch(/worker_pool_jobs_recovered_total\{[^}]*how="host"[^}]*\} 4/);
    expect(metrics).toMatch(/worker_pool_host_recovery_seconds_count\{[^}]*\} 4/);
    const r = client();
    try {
      const counts = await r.hgetall(runs);
      expect(Object.keys(counts).sort()).toEqual(['long-0', 'long-1', 'long-2', 'long-3']);
    } finally {
      r.disconnect();
    }
    expect((await fleetOf(b)).instances.map((i) => i.pool).sort()).toEqual(['b', 'c']);
  });

  it('a daemon restarted under the same name recovers its SIGKILLed predecessor at start-up, without waiting for the lease', async () => {
    const { prefix, q } = setup('fleet-restart');
    const args = ['--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'q', '--processor', fixture('record.mjs'), '--name', 'same', '--min-workers', '1', '--max-workers', '1', '--concurrency', '2', '--lease-seconds', '25'];
    const first = await startCli(args);
    clis.push(first);
    await q.addBulk(Array.from({ length: 2 }, (_, i) => ({ name: 'long', data: { ms: 60_000, retryMs: 100 }, opts: { jobId: `r-${i}` } })));
    await until(async () => (await q.getActiveCount()) === 2, 'the first process running both jobs', 30_000);
    await powerOff(first);
    const restartedAt = Date.now();
    const second = await startCli(args);
    clis.push(second);
    await until(async () => (await q.getCompletedCount()) === 2, 'both jobs completed by the restarted daemon', 30_000);
    const ms = Date.now() - restartedAt;
    console.log(`restart recovery: predecessor's 2 jobs completed ${ms} ms after the restart (lease 25 s, lock 30 s)`);
    // Well before the lease (25 s) or BullMQ's stalled check (30 s lock + 30 s interval).
    expect(ms).toBeLessThan(20_000);
    expect(second.output).toContain("this instance's previous process is gone");
  });
});

describe('Redis down for everyone', () => {
  let redis: EmbeddedRedis | undefined;
  let rq: Queue | undefined;
  afterEach(async () => {
    await Promise.allSettled(pools.map((p) => p.stop()));
    pools = [];
    await rq?.close();
    rq = undefined;
    await redis?.stop();
    redis = undefined;
  });

  it('Redis restarted after longer than the lease: every daemon rejoins, takes its old registration over, and nobody hands back anybody\'s running jobs', async () => {
    redis = await startEmbeddedRedis({ appendOnly: true });
    const prefix = uniquePrefix('fleet-outage');
    const q = (rq = openQueue('q', prefix, redis.url));
    const flags = { 'redis-url': redis.url, prefix, queues: 'q', processor: fixture('record.mjs'), 'min-workers': '1', 'max-workers': '1', concurrency: '2' };
    const pa = await startPool({ ...flags, name: 'a' }, { waitReady: false });
    pools.push(pa);
    const a = pa.daemon;
    await q.addBulk(Array.from({ length: 2 }, (_, i) => ({ name: 'long', data: { ms: 12_000, record: `${prefix}:runs`, redis: redis!.url }, opts: { jobId: `a-${i}` } })));
    await until(async () => (await q.getActiveCount()) === 2, 'a running 2 jobs', 30_000);
    const pb = await startPool({ ...flags, name: 'b' }, { waitReady: false });
    pools.push(pb);
    const b = pb.daemon;
    await q.addBulk(Array.from({ length: 2 }, (_, i) => ({ name: 'long', data: { ms: 12_000, record: `${prefix}:runs`, redis: redis!.url }, opts: { jobId: `b-${i}` } })));
    await until(async () => (await q.getActiveCount()) === 4, 'both running 2 jobs', 30_000);
    const epochs = [a.fleet.epoch, b.fleet.epoch];
    await new Promise((r) => setTimeout(r, 5500)); // b holds its lease for a whole lease first
    await redis.stop({ keepDir: true });
    await new Promise((r) => setTimeout(r, 7000));
    await redis.restart();
    await until(async () => (await q.getCompletedCount()) === 4, 'all 4 jobs completed', 40_000);
    await until(() => a.fleet.epoch > epochs[0]! && b.fleet.epoch > epochs[1]! && a.fleet.state === 'live' && b.fleet.state === 'live', 'both daemons registered again', 20_000);
    // A lease later, when each could claim: still nothing handed back.
    await new Promise((r) => setTimeout(r, 6000));
    const handedBack = [...pa.logs, ...pb.logs].filter((l) => String(l['msg']).includes("dead host's job handed back"));
    const runs = await (async () => {
      const c = client(redis!.url);
      try {
        return await c.hgetall(`${prefix}:runs`);
      } finally {
        c.disconnect();
      }
    })();
    console.log(`Redis down 7 s (lease 5 s): epochs ${epochs.join(',')} → ${a.fleet.epoch},${b.fleet.epoch}; jobs handed back by a peer: ${handedBack.length}; runs ${JSON.stringify(runs)}`);
    expect(handedBack).toEqual([]);
    expect(Object.values(runs)).toEqual(['1', '1', '1', '1']);
    expect(a.fleet.epoch).toBeGreaterThan(epochs[0]!);
    expect(b.fleet.epoch).toBeGreaterThan(epochs[1]!);
    expect([...pa.logs, ...pb.logs].filter((l) => l['msg'] === 'fleet: registered again under a new epoch').every((l) => l['carried'] === true)).toBe(true);
  }, 120_000);
});

describe('fleet cap', () => {
  it('three daemons each wanting 3 workers under --fleet-max-workers 4: the sum never exceeds 4, every slot is used, and one stopping frees its slots for the others', async () => {
    const { prefix } = setup('fleet-cap');
    const flags = { name: 'capped', 'min-workers': '3', 'max-workers': '3', 'fleet-max-workers': '4', 'scaling-period': '0.5', window: '1' };
    const ds = await Promise.all([peer(prefix, flags), peer(prefix, flags), peer(prefix, flags)]);
    let worst = 0;
    const sample = () => {
      const sum = ds.reduce((n, d) => n + (d === undefined ? 0 : d.supervisor.workers().length), 0);
      worst = Math.max(worst, sum);
      return sum;
    };
    const sampler = setInterval(sample, 20);
    try {
      await until(() => sample() === 4, 'four workers across the three daemons', 30_000);
      const holder = ds.find((d) => d.supervisor.workers().length > 0)!;
      const freed = holder.supervisor.workers().length;
      const others = ds.filter((d) => d !== holder);
      await stopPeer(holder);
      await until(() => others.reduce((n, d) => n + d.supervisor.workers().length, 0) === 4, `the ${freed} freed slot(s) taken by the others`, 30_000);
      console.log(`cap 4, 3 daemons wanting 3 each: most workers seen at once ${worst}`);
    } finally {
      clearInterval(sampler);
    }
    expect(worst).toBeLessThanOrEqual(4);
  });
});

describe('fleet scripts under races (real Redis)', () => {
  it('of many daemons claiming one expired registration at once, exactly one gets it; slot grants never pass the cap', async () => {
    const { prefix } = setup('fleet-race');
    const { REGISTER, CLAIM_EXPIRED, ACQUIRE_SLOTS, fleetKeys } = await import('../../src/fleet/scripts.js');
    const k = fleetKeys(prefix);
    const clients = Array.from({ length: 8 }, () => client());
    try {
      const reg = async (c: (typeof clients)[0], host: string, leaseMs: number) => {
        const [epoch] = (await c.eval(REGISTER, 5, k.epoch, k.leases, k.info, k.beats, k.claims, `${host}/p#`, leaseMs, '{}', '')) as number[];
        return `${host}/p#${epoch}`;
      };
      for (let round = 0; round < 5; round++) {
        await reg(clients[0]!, `dead${round}`, 1);
        await new Promise((r) => setTimeout(r, 5));
        const got = await Promise.all(clients.map((c, i) => c.eval(CLAIM_EXPIRED, 4, k.leases, k.info, k.claims, k.beats, `peer${i}`, 10_000, `peer${i}`, 16, 1 << 20) as Promise<unknown[]>));
        expect(got.filter((g) => g.some((x) => String(x) === `dead${round}/p#${round + 1}`))).toHaveLength(1);
      }
      const regs = await Promise.all(clients.map((c, i) => reg(c, `live${i}`, 60_000)));
      const grants = await Promise.all(clients.map((c, i) => c.eval(ACQUIRE_SLOTS, 3, k.slots('p'), k.leases, k.claims, regs[i]!, 7, 60_000, `${regs[i]}|1`, `${regs[i]}|2`, `${regs[i]}|3`) as Promise<unknown[]>));
      const granted = grants.reduce((n, g) => n + g.length - 1, 0);
      expect(granted).toBe(7);
      expect(await clients[0]!.zcard(k.slots('p'))).toBe(7);
    } finally {
      for (const c of clients) c.disconnect();
    }
  });
});
