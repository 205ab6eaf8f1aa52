/**
 * Issue 25, item 4: a Cluster reshard of the pool's slot that takes several seconds is a pause, not
 * an error. The slot holds 100,000 keys besides the pool's, so `redis-cli --cluster reshard` moves
 * it for seconds, during which every multi-key script of BullMQ on that slot is answered TRYAGAIN
 * (some of its keys moved, some not). Meanwhile two workers run jobs from two queues, a program adds
 * jobs through the producer API and `worker-pool enqueue` adds more. Counted from what Redis holds
 * afterwards: no job failed, none left active, every add accepted and its job completed once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createProducer } from '../../src/producer.js';
import { CliProcess, startCli } from '../helpers/cli.js';
import { fixture } from '../helpers/pool.js';
import { fillSlot, reshard, slotOf, slotRanges, tagFor, type SlotRange } from '../helpers/cluster-slots.js';
import { startClusterRig, type ClusterRig } from '../helpers/redis-rig.js';
import { until } from '../helpers/wait.js';

const FILL = 100_000;

let rig: ClusterRig;
let client: Redis;
let daemon: CliProcess | undefined;

beforeAll(async () => {
  rig = await startClusterRig(3);
  client = rig.connect();
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  client?.disconnect();
  await rig?.stop();
}, 60_000);

describe('Cluster: a reshard of the pool\'s slot that lasts seconds', () => {
  it('100,000 keys moved under load: 0 failed, 0 left active, 0 adds rejected, every job completed', async () => {
    const ranges = await slotRanges(rig.nodes[0]!.port);
    // The lowest slot of the first master: `reshard --cluster-slots 1` moves that one.
    const slot = ranges[0]!.from;
    const tag = tagFor(slot, 'm');
    expect(slotOf(tag)).toBe(slot);
    const from = ranges[0]!;
    const to: SlotRange = ranges.find((r) => r.port !== from.port)!;
    const prefix = `{${tag}}`;
    await fillSlot(from.port, tag, FILL);

    // Two queues: the worker also uses its script that finds which queues hold a job.
    daemon = await startCli(['--redis-cluster-nodes', rig.nodeList, '--prefix', prefix, '--queues', 'a,b', '--processor', fixture('record.mjs'), '--concurrency', '4', '--min-workers', '2', '--max-workers', '2']);
    const producer = createProducer({ connection: client, prefix, catalog: [{ name: 'ok', urgency: 'low', resourceBoundary: 'unknown', tags: [] }], rules: [['*', 'a']] });
    const added: string[] = [];
    const rejected: string[] = [];
    let producing = true;
    const adding = (async () => {
      for (let n = 0; producing; n++) {
        await producer.add('ok', { ms: 20 }, { jobId: `p${n}` }).then(
          () => added.push(`p${n}`),
          (err: Error) => rejected.push(`p${n}: ${err.message}`),
        );
        await new Promise((res) => setTimeout(res, 10));
      }
    })();
    await until(async () => (await client.zcard(`${prefix}:a:completed`)) > 100, 'the pool running jobs', 30_000, 100);

    // The CLI adds to the other queue at a steady rate for the whole reshard.
    const enqueue = new CliProcess(['enqueue', '--redis-cluster-nodes', rig.nodeList, '--prefix', prefix, '--queue', 'b', '--name', 'ok', '--data', '{"ms":20}', '--count', '300', '--rate', '30']);
    const moved = reshard(from, to);
    const took = moved.ms;
    expect(moved.status, moved.output).toBe(0);
    expect((await slotRanges(to.port)).find((r) => slot >= r.from && slot <= r.to)!.port).toBe(to.port);
    expect(await client.exists(`${prefix}:fill:${FILL - 1}`)).toBe(1);

    const cli = await enqueue.exited;
    producing = false;
    await adding;
    await producer.close();

    // Settled: every accepted job completed or failed and none active, or a minute gone (a job left active stays so).
    const settled = await until(async () => {
      const ended = new Set([...(await client.zrange(`${prefix}:a:completed`, '0', '-1')), ...(await client.zrange(`${prefix}:a:failed`, '0', '-1'))]);
      const b = (await client.zcard(`${prefix}:b:completed`)) + (await client.zcard(`${prefix}:b:failed`));
      return added.every((id) => ended.has(id)) && b >= 300 ? true : undefined;
    }, 'every added job ended', 60_000, 250).catch(() => false);
    const failed = [...(await client.zrange(`${prefix}:a:failed`, '0', '-1')), ...(await client.zrange(`${prefix}:b:failed`, '0', '-1'))];
    const reasons = await Promise.all(failed.slice(0, 3).map((id) => client.hget(`${prefix}:a:${id}`, 'failedReason')));
    const active = (await client.llen(`${prefix}:a:active`)) + (await client.llen(`${prefix}:b:active`));
    console.log(`cluster reshard of slot ${slot} holding ${FILL} keys: ${(took / 1000).toFixed(2)} s; ${added.length} jobs added by the producer (${rejected.length} rejected), enqueue exit ${cli.code}; ${failed.length} failed, ${active} left active${settled ? '' : ', not settled after 60 s'}`);
    // What the daemon and its workers said: no command gave up, no script reached a key it had not declared.
    const gaveUp = daemon.output.split('\n').filter((l) => /Too many Cluster redirections|non local key|undeclared keys/.test(l));
    console.log(`${gaveUp.length} log lines of commands that gave up; fleet: ${daemon.logs.filter((l) => /fleet: lease/.test(l.msg)).map((l) => l.msg).join('; ') || 'no fence'}`);
    expect(rejected).toEqual([]);
    expect(cli.code, enqueue.stderr).toBe(0);
    expect({ failed: failed.length, reasons, active, settled }).toEqual({ failed: 0, reasons: [], active: 0, settled: true });
    expect(await client.zcard(`${prefix}:b:completed`)).toBe(300);
    expect(gaveUp).toEqual([]);
    // Every job was started once (BullMQ's attemptsStarted), none run again after a lost lock.
    const ids = [...added.map((id) => `a:${id}`), ...(await client.zrange(`${prefix}:b:completed`, '0', '-1')).map((id) => `b:${id}`)];
    const started = await Promise.all(ids.map(async (id) => [id, await client.hget(`${prefix}:${id}`, 'ats')] as const));
    expect(started.filter(([, n]) => n !== '1')).toEqual([]);
  }, 120_000);
});
