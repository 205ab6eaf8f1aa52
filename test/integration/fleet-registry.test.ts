/**
 * Issue 26, item 7: one malformed fleet entry must not turn a peer against live work. Each of the
 * issue's reproductions is written straight into the registry in Redis next to a live daemon:
 * an expired entry whose token bases would match every lock, one that names a live daemon's epoch,
 * a garbage epoch counter, an epoch of 1e14, a 20 MB description, and a description of the wrong
 * type. None is acted on: the daemon's running jobs stay its own, it registers and keeps its lease,
 * it does not fetch the big entry at every heartbeat, and a bad entry is removed, not left
 * "recovering" for good; each is named in one warning.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { fixture, poolPerTest, type LogLines, type TestPool } from '../helpers/pool.js';
import { client, deletePrefix, queue as openQueue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const startPool = poolPerTest();
/** Prefixes a test chose itself (poolPerTest cleans up only its own). */
const ownPrefixes: string[] = [];
afterEach(async () => {
  for (const p of ownPrefixes.splice(0)) await deletePrefix(p);
});
/** A short lease, so that the daemon claims expired entries within seconds. */
const FLEET = { 'lease-seconds': '2', 'heartbeat-seconds': '0.5' };

/** Warnings naming `text`: one when a listing meets the bad entry, one when a claim removes it. */
const warned = (logs: LogLines, text: string) => logs.filter((l) => l['level'] === 40 && JSON.stringify(l).includes(text)).length;
const onceOrTwice = (n: number) => expect([1, 2]).toContain(n);

describe('a fleet registry with bad entries', () => {
  it("an expired entry with tokenBases \"e\", and one naming the live daemon's own epoch: the daemon's running jobs are not handed back; both entries are removed with a warning", async () => {
    const { daemon: d, queue: q, prefix, logs } = await startPool({ queues: 'q', processor: fixture('record.mjs'), concurrency: '2', 'min-workers': '1', 'max-workers': '1', ...FLEET }, { waitReady: false });
    await q.addBulk([0, 1].map((i) => ({ name: 'long', data: { ms: 12_000, record: `${prefix}:runs`, redis: redisUrl() }, opts: { jobId: `long-${i}` } })));
    const c = client();
    try {
      const locks = await until(async () => {
        const l = await c.mget(`${prefix}:q:long-0:lock`, `${prefix}:q:long-1:lock`);
        return l.every((x) => x !== null) ? l : undefined;
      }, 'both jobs running', 20_000, 20);
      const epoch = d.fleet.epoch;
      await c.zadd(`${prefix}:fleet:leases`, 1, 'evil/x#9');
      await c.hset(`${prefix}:fleet:info`, 'evil/x#9', JSON.stringify({ queues: ['q'], tokenBases: 'e' }));
      // Well formed, but its epoch's prefix is the live daemon's.
      await c.zadd(`${prefix}:fleet:leases`, 1, `evil/y#${epoch}`);
      await c.hset(`${prefix}:fleet:info`, `evil/y#${epoch}`, JSON.stringify({ host: 'evil', name: 'y', pool: 'p', queues: ['q'], tokenBases: [`e${epoch}/`] }));
      await until(async () => (await c.zcard(`${prefix}:fleet:leases`)) === 1, 'both entries claimed and removed', 15_000, 100);
      await new Promise((r) => setTimeout(r, 1000));
      expect(await c.mget(`${prefix}:q:long-0:lock`, `${prefix}:q:long-1:lock`)).toEqual(locks);
      expect(await q.getJobCounts('active', 'wait')).toEqual({ active: 2, wait: 0 });
      onceOrTwice(warned(logs, 'evil/x#9'));
      expect(warned(logs, `evil/y#${epoch}`)).toBeGreaterThan(0);
      expect(logs.filter((l) => String(l['msg']).includes("dead host's job handed back"))).toEqual([]);
    } finally {
      c.disconnect();
    }
  });

  it('a garbage epoch counter: the daemon registers anyway (the counter is set again) and runs its workers', async () => {
    const prefix = uniquePrefix('reg-garbage');
    ownPrefixes.push(prefix);
    const c = client();
    await c.set(`${prefix}:fleet:epoch`, 'garbage');
    const { daemon: d, logs } = await startPool({ queues: 'q', prefix, processor: fixture('record.mjs'), 'min-workers': '2', 'max-workers': '2', ...FLEET }, { waitReady: false });
    try {
      await until(() => d.supervisor.runningCount() === 2, 'two workers running', 30_000);
      expect(d.fleet.state).toBe('live');
      expect(warned(logs, 'epoch counter')).toBe(1);
    } finally {
      c.disconnect();
    }
  });

  it('an epoch counter at 1e14: the daemon registers once and keeps its registration (no loop of re-registrations)', async () => {
    const prefix = uniquePrefix('reg-huge');
    ownPrefixes.push(prefix);
    const c = client();
    await c.set(`${prefix}:fleet:epoch`, '100000000000000');
    const { daemon: d, logs } = await startPool({ queues: 'q', prefix, processor: fixture('record.mjs'), 'min-workers': '1', 'max-workers': '1', ...FLEET }, { waitReady: false });
    try {
      await until(() => d.supervisor.runningCount() === 1, 'the worker running', 30_000);
      const { epoch, id } = d.fleet;
      await new Promise((r) => setTimeout(r, 3000));
      expect({ epoch: d.fleet.epoch, id: d.fleet.id, state: d.fleet.state }).toEqual({ epoch, id, state: 'live' });
      expect(id).toMatch(/#\d+$/);
      expect(logs.filter((l) => l['msg'] === 'fleet: registered again under a new epoch')).toEqual([]);
    } finally {
      c.disconnect();
    }
  });

  it('an expired entry whose description is not an object: removed with a warning, not left "recovering" for good', async () => {
    const { daemon: d, prefix, logs } = await startPool({ queues: 'q', processor: fixture('record.mjs'), 'min-workers': '1', 'max-workers': '1', ...FLEET }, { waitReady: false });
    const c = client();
    try {
      await until(() => d.supervisor.runningCount() === 1, 'the worker running', 30_000);
      for (const [id, info] of [['tc/x#3', 'null'], ['tc/y#4', JSON.stringify({ host: 'tc', name: 'y', pool: 'p', queues: 'q', tokenBases: [] })]] as const) {
        await c.zadd(`${prefix}:fleet:leases`, 1, id);
        await c.hset(`${prefix}:fleet:info`, id, info);
      }
      await until(async () => (await c.zcard(`${prefix}:fleet:leases`)) === 1, 'both entries removed', 15_000, 100);
      const view = (await (await fetch(`${d.url}/fleet`)).json()) as { instances: Array<{ state: string }> };
      expect(view.instances.map((i) => i.state)).toEqual(['live']);
      onceOrTwice(warned(logs, 'tc/x#3'));
      onceOrTwice(warned(logs, 'tc/y#4'));
    } finally {
      c.disconnect();
    }
  });
});

describe('a fleet registry with a huge entry', () => {
  let redis: EmbeddedRedis | undefined;
  let pool: TestPool | undefined;
  afterEach(async () => {
    await pool?.stop();
    pool = undefined;
    await redis?.stop();
    redis = undefined;
  });

  it('a 20 MB description next to a live daemon is never fetched by its heartbeats; the daemon keeps its lease and warns once', async () => {
    redis = await startEmbeddedRedis();
    const prefix = uniquePrefix('reg-big');
    const c = client(redis.url);
    const q = openQueue('q', prefix, redis.url);
    try {
      pool = await startPool({ 'redis-url': redis.url, prefix, queues: 'q', processor: fixture('record.mjs'), 'min-workers': '1', 'max-workers': '1', ...FLEET }, { waitReady: false });
      const { daemon: d, logs } = pool;
      await until(() => d.supervisor.runningCount() === 1, 'the worker running', 30_000);
      const id = 'big/x#5';
      await c.zadd(`${prefix}:fleet:leases`, Date.now() + 3_600_000, id);
      await c.hset(`${prefix}:fleet:info`, id, 'x'.repeat(20 * 1024 * 1024));
      const { epoch } = d.fleet;
      const sent = async () => Number(/total_net_output_bytes:(\d+)/.exec(await c.info('stats'))?.[1]);
      const before = await sent();
      await new Promise((r) => setTimeout(r, 4000)); // eight heartbeats
      const bytes = (await sent()) - before;
      console.log(`20 MB registry entry: Redis sent ${bytes} bytes in 8 heartbeats of one daemon`);
      expect(bytes).toBeLessThan(2 * 1024 * 1024);
      expect({ epoch: d.fleet.epoch, state: d.fleet.state }).toEqual({ epoch, state: 'live' });
      expect(warned(logs, id)).toBe(1);
    } finally {
      await q.close();
      c.disconnect();
    }
  });
});
