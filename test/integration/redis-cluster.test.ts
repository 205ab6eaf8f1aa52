/**
 * Issue 15, Cluster: three masters made with `redis-cli --cluster create`. Pools whose prefixes
 * carry different hash tags live on different masters; a prefix without a tag is refused; a
 * SIGKILLed child's job is handed back; migrate-jobs' script moves jobs; global concurrency holds;
 * a `redis-cli --cluster reshard` of a busy queue's slot loses nothing and completions come back
 * within 5 s; no log line of any process says CROSSSLOT.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { discoverQueues, migrateJobs } from '../../src/migration/migrate.js';
import { runCli, startCli, type CliProcess } from '../helpers/cli.js';
import { reshard, slotOf, slotRanges, tagFor, type SlotRange } from '../helpers/cluster-slots.js';
import { fixture } from '../helpers/pool.js';
import { startClusterRig, type ClusterRig } from '../helpers/redis-rig.js';
import { until } from '../helpers/wait.js';

let rig: ClusterRig;
let ranges: SlotRange[];
const daemons: CliProcess[] = [];
let client: Redis;

const ownerOf = (slot: number) => ranges.find((r) => slot >= r.from && slot <= r.to)!;

beforeAll(async () => {
  rig = await startClusterRig(3);
  ranges = await slotRanges(rig.nodes[0]!.port);
  client = rig.connect();
}, 60_000);

afterAll(async () => {
  for (const d of daemons) await d.stop();
  client?.disconnect();
  const lines = daemons.flatMap((d) => d.output.split('\n'));
  await rig?.stop();
  // Never a CROSSSLOT error, in the supervisors' logs or their children's.
  expect(lines.filter((l) => /CROSSSLOT/.test(l))).toEqual([]);
}, 60_000);

// The busy queue's tag sits in the lowest slot of its master: `reshard --cluster-slots 1` moves that one.
const tagA = () => tagFor(ranges[0]!.from, 'a');
const tagB = () => tagFor(ranges[1]!.from + 100, 'b');

/** A daemon (the CLI) on the cluster under this prefix. */
async function startClusterPool(prefix: string, queues: string, extra: string[] = []): Promise<CliProcess> {
  const d = await startCli(['--redis-cluster-nodes', rig.nodeList, '--prefix', prefix, '--queues', queues, '--processor', fixture('record.mjs'), '--concurrency', '4', '--min-workers', '2', '--max-workers', '2', ...extra]);
  daemons.push(d);
  return d;
}

const completedIds = async (prefix: string, queue: string) => new Set(await client.zrange(`${prefix}:${queue}:completed`, '0', '-1'));

describe('Redis Cluster', () => {
  it('a prefix without a {hash tag} is refused: exit 78, one line', async () => {
    const r = await runCli(['--redis-cluster-nodes', rig.nodeList, '--prefix', 'bull', '--processor', fixture('record.mjs')]);
    expect(r.code).toBe(78);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/prefix: "bull" is not allowed with redis-cluster-nodes; expected a prefix with a \{hash tag\}/);
  });

  it('pools with different hash tags on different masters run their jobs; global concurrency holds', async () => {
    const pa = `{${tagA()}}`;
    const pb = `{${tagB()}}`;
    expect(ownerOf(slotOf(tagA())).port).not.toBe(ownerOf(slotOf(tagB())).port);
    await startClusterPool(pa, 'a,serial', ['--global-concurrency', 'serial=1']);
    await startClusterPool(pb, 'c');
    const qa = new Queue('a', { connection: client, prefix: pa });
    const qs = new Queue('serial', { connection: client, prefix: pa });
    const qc = new Queue('c', { connection: client, prefix: pb });
    await qa.addBulk(Array.from({ length: 50 }, (_, i) => ({ name: 'ok', data: { ms: 10 }, opts: { jobId: `a${i}` } })));
    await qc.addBulk(Array.from({ length: 50 }, (_, i) => ({ name: 'ok', data: { ms: 10 }, opts: { jobId: `c${i}` } })));
    await qs.addBulk(Array.from({ length: 12 }, (_, i) => ({ name: 'ok', data: { ms: 100 }, opts: { jobId: `s${i}` } })));
    await until(async () => (await completedIds(pa, 'a')).size === 50 && (await completedIds(pb, 'c')).size === 50 && (await completedIds(pa, 'serial')).size === 12, 'every job completed', 60_000, 200);
    // Serial: no two jobs' active intervals overlap, across 2 workers × 4 slots.
    const spans = await Promise.all(Array.from({ length: 12 }, async (_, i) => (await client.hmget(`${pa}:serial:s${i}`, 'processedOn', 'finishedOn')).map(Number) as [number, number]));
    spans.sort((x, y) => x[0] - y[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    // Queue discovery sees queues on every master.
    const found = [...(await discoverQueues(client, pa)), ...(await discoverQueues(client, pb))];
    expect(found).toEqual(expect.arrayContaining(['a', 'serial', 'c']));
    // The CLI reaches the cluster the same way.
    const cli = await runCli(['enqueue', '--redis-cluster-nodes', rig.nodeList, '--prefix', pb, '--queue', 'c', '--name', 'ok', '--data', '{"ms":1}', '--count', '5']);
    expect(cli.code, cli.stderr).toBe(0);
    await until(async () => (await completedIds(pb, 'c')).size === 55, 'the CLI-enqueued jobs completed', 20_000, 200);
    await Promise.all([qa.close(), qs.close(), qc.close()]);
  }, 120_000);

  it("a SIGKILLed child's job is handed back at once and completes", async () => {
    const pa = `{${tagA()}}`;
    const d = daemons[0]!;
    const qa = new Queue('a', { connection: client, prefix: pa });
    await qa.add('ok', { ms: 4000 }, { jobId: 'held' });
    const holder = await until(async () => {
      const s = await d.status();
      return s.workers.find((w) => w.busy > 0);
    }, 'a worker running the job', 20_000, 100);
    process.kill(holder.pid!, 'SIGKILL');
    await until(() => d.output.includes("dead worker's job handed back"), 'the hand-back logged', 10_000);
    await until(async () => (await qa.getJobState('held')) === 'completed', 'the handed-back job completed', 30_000, 200);
    await qa.close();
  }, 60_000);

  it('migrate-jobs moves delayed jobs between queues of one hash tag', async () => {
    const pa = `{${tagA()}}`;
    const old = new Queue('old', { connection: client, prefix: pa });
    await old.addBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'moving', data: { ms: 1 }, opts: { jobId: `m${i}`, delay: 60_000 } })));
    const report = await migrateJobs({ client, prefix: pa, actualQueue: new Map([['moving', 'other']]), queues: ['old'], includeWaiting: false, dryRun: false, batchSize: 7, batchPauseMs: 0, now: () => Date.now() });
    expect([...report.moves.values()].flatMap((m) => [...m.values()]).reduce((n, c) => n + c.moved, 0)).toBe(20);
    expect(await client.zcard(`${pa}:other:delayed`)).toBe(20);
    expect(await client.zcard(`${pa}:old:delayed`)).toBe(0);
    await old.close();
  });

  it('a reshard of the busy queue\'s slot under load: nothing lost, completions back within 5 s', async () => {
    const pa = `{${tagA()}}`;
    const slot = slotOf(tagA());
    const from = ownerOf(slot);
    const to = ranges.find((r) => r.port !== from.port)!;
    const qa = new Queue('a', { connection: client, prefix: pa });
    const added: string[] = [];
    let producing = true;
    const producer = (async () => {
      for (let n = 0; producing; n++) {
        await qa.add('ok', { ms: 20 }, { jobId: `r${n}` }).then(() => added.push(`r${n}`), () => undefined);
        await new Promise((res) => setTimeout(res, 15));
      }
    })();
    await until(() => added.length > 300, 'the pool busy on the queue', 60_000, 200);
    const t0 = Date.now();
    const moved = reshard(from, to);
    const t1 = Date.now();
    expect(moved.status, moved.output).toBe(0);
    ranges = await slotRanges(rig.nodes[0]!.port);
    expect(ownerOf(slot).port).toBe(to.port); // the busy queue's slot did move
    // Completions of jobs that started after the reshard ended.
    const back = await until(async () => {
      const ids = await client.zrangebyscore(`${pa}:a:completed`, t1, '+inf', 'LIMIT', 0, 50);
      for (const id of ids) {
        const [p, f] = (await client.hmget(`${pa}:a:${id}`, 'processedOn', 'finishedOn')).map(Number);
        if (p! >= t1) return f! - t1;
      }
      return undefined;
    }, 'a completion after the reshard', 30_000, 100);
    await until(() => Date.now() > t1 + 2000, 'two seconds after the reshard', 10_000, 100);
    const before = await client.zcount(`${pa}:a:completed`, t0 - 2000, t0 - 1);
    const after = await client.zcount(`${pa}:a:completed`, t1, t1 + 1999);
    producing = false;
    await producer;
    await until(async () => {
      const done = await completedIds(pa, 'a');
      return added.every((id) => done.has(id));
    }, 'every added job completed', 60_000, 250);
    console.log(`cluster reshard of slot ${slot} (${added.length} jobs added under load): reshard took ${((t1 - t0) / 1000).toFixed(2)} s, end → first completion of a new job ${(back / 1000).toFixed(2)} s, completions in the 2 s after / the 2 s before ${(after / Math.max(1, before)).toFixed(2)}, 0 lost`);
    expect(back).toBeLessThan(5000);
    // The operator sees every master; a reshard is no failover.
    const status = await daemons[0]!.status();
    expect(status.redis.masters).toHaveLength(3);
    expect(status.redis.failovers).toBe(0);
    await qa.close();
  }, 120_000);
});
