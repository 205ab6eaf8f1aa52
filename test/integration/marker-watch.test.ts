/**
 * A worker child waits on its queues' markers in groups of at most GROUP_SIZE queues, one blocking
 * connection each (src/worker/marker-watch.ts), so that a job's arrival costs Redis one group's
 * worth of keys, not every queue's. Real Redis: which queue a wait returns, in what order wake-ups
 * that came in meanwhile are served, and that none is lost.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { QueueSide } from '../../src/worker/child-state.js';
import { GROUP_SIZE, MarkerWatch, groupBounds } from '../../src/worker/marker-watch.js';
import { createLogger } from '../../src/logger.js';
import { client, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const conn = client();
let watch: MarkerWatch | undefined;
afterEach(() => {
  watch?.close();
  watch = undefined;
});
afterAll(() => conn.disconnect());

function sides(prefix: string, n: number): QueueSide[] {
  return Array.from({ length: n }, (_, i) => ({ name: `q${i}`, markerKey: `${prefix}:q${i}:marker` }) as QueueSide);
}

function open(prefix: string, n: number): { watch: MarkerWatch; sides: QueueSide[]; name: string } {
  const s = sides(prefix, n);
  const name = `${prefix}-wait`;
  watch = new MarkerWatch({
    sides: s,
    connect: () => new Redis(redisUrl(), { maxRetriesPerRequest: null, connectionName: name }),
    setMarker: (key) => conn.zadd(key, 0, '0'),
    log: createLogger({ level: 'silent', pretty: false, base: {} }),
  });
  return { watch, sides: s, name };
}

/** How many of the watch's connections Redis holds blocked in BZPOPMIN. */
async function blocked(name: string): Promise<number> {
  const list = (await conn.client('LIST')) as string;
  return list.split('\n').filter((l) => l.includes(`name=${name} `) && l.includes('cmd=bzpopmin') && / flags=\S*b/.test(l)).length;
}

describe('groupBounds', () => {
  it('splits the queues in order into even groups of at most GROUP_SIZE', () => {
    expect(groupBounds(1)).toEqual([[0, 1]]);
    expect(groupBounds(GROUP_SIZE)).toEqual([[0, GROUP_SIZE]]);
    expect(groupBounds(GROUP_SIZE + 1).map(([a, b]) => b - a)).toEqual([17, 16]);
    const g = groupBounds(500);
    expect(g).toHaveLength(Math.ceil(500 / GROUP_SIZE));
    expect(g[0]![0]).toBe(0);
    expect(g.at(-1)![1]).toBe(500);
    for (let i = 1; i < g.length; i++) expect(g[i]![0]).toBe(g[i - 1]![1]);
    expect(Math.max(...g.map(([a, b]) => b - a))).toBeLessThanOrEqual(GROUP_SIZE);
  });
});

describe('MarkerWatch on real Redis', () => {
  it('blocks one connection per group and wakes for a job in any queue', async () => {
    const prefix = uniquePrefix('mwatch');
    const { watch, sides: s, name } = open(prefix, 100);
    expect(watch.connections).toBe(4);
    const woke = watch.wait(5);
    await until(async () => (await blocked(name)) === 4, 'every group blocked');
    await conn.zadd(s[77]!.markerKey, 0, '0');
    expect((await woke)?.name).toBe('q77');
  });

  it('serves the wake-ups that came in meanwhile in queue order, and loses none', async () => {
    const prefix = uniquePrefix('mwatch');
    const { watch, sides: s, name } = open(prefix, 100);
    const first = watch.wait(5);
    await until(async () => (await blocked(name)) === 4, 'every group blocked');
    await conn.zadd(s[60]!.markerKey, 0, '0');
    expect((await first)?.name).toBe('q60');
    // The child is busy now (not waiting); the other groups are still blocked and pop what arrives.
    await conn.zadd(s[90]!.markerKey, 0, '0');
    await conn.zadd(s[10]!.markerKey, 0, '0');
    await until(async () => (await conn.exists(s[90]!.markerKey, s[10]!.markerKey)) === 0, 'both markers popped');
    expect((await watch.wait(5))?.name).toBe('q10');
    expect((await watch.wait(5))?.name).toBe('q90');
  });

  it('sets back, when the child has no free slot, the markers it popped', async () => {
    const prefix = uniquePrefix('mwatch');
    const { watch, sides: s, name } = open(prefix, 40);
    const first = watch.wait(5);
    await until(async () => (await blocked(name)) === 2, 'both groups blocked');
    await conn.zadd(s[0]!.markerKey, 0, '0');
    await first;
    await conn.zadd(s[35]!.markerKey, 0, '0');
    await until(async () => (await conn.exists(s[35]!.markerKey)) === 0, 'the marker popped');
    watch.park();
    // Another worker blocked on that queue would wake for it now.
    await until(async () => (await conn.exists(s[35]!.markerKey)) === 1, 'the marker set back');
  });

  it('ends a wait at once when closed, and a timeout returns nothing', async () => {
    const prefix = uniquePrefix('mwatch');
    const { watch } = open(prefix, 3);
    expect(await watch.wait(0.05)).toBeUndefined();
    const w = watch.wait(5);
    const t0 = Date.now();
    watch.close();
    expect(await w).toBeUndefined();
    expect(Date.now() - t0).toBeLessThan(1000);
  });
});
