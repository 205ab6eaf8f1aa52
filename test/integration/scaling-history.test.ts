/**
 * Scaling history that survives: /status keeps the changes apart from the holds (so a change an
 * hour ago is still shown however many holds came after), holds are logged at debug, and a
 * restarted daemon still shows the changes and the live page's points of the run before, read
 * back from Redis (bounded lists under the pool's prefix).
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { HistoryBody } from '../../src/observe/history.js';
import { KEEP_CHANGES } from '../../src/observe/history-store.js';
import { poolIdentity } from '../../src/observe/pool-identity.js';
import type { ScalePolicy } from '../../src/policy/types.js';
import { fixture, poolPerTest, type TestPool } from '../helpers/pool.js';
import { client, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';
import { readStatus } from '../helpers/http-request.js';

// Up to 2 workers, then hold for ever: one change, then many holds.
const upToTwo: ScalePolicy = (s) => (s.workers < 2 ? { action: 'up', target: s.workers + 1, reason: 'test: grow to 2' } : { action: 'hold', target: s.workers, reason: 'test: hold' });

const startPool = poolPerTest();
const prefix = uniquePrefix('history');
const redis = client();
afterAll(() => redis.disconnect());

/** A pool named hist on this file's prefix (on `queues`), under the policy above; its logs at info. */
function poolOn(queues = 'q'): Promise<TestPool> {
  return startPool({ prefix, name: 'hist', queues, processor: fixture('sleep.mjs'), 'min-workers': 1, 'max-workers': 2, 'scaling-period': 0.2 }, { policy: upToTwo });
}

describe('scaling history', () => {
  it('changes stay visible after many holds, holds log at debug, and both survive a restart', async () => {
    const pool = await poolOn();
    const first = pool.daemon;
    const key = (list: string) => `${prefix}:worker-pool:${list}:hist:${poolIdentity(first.config)}`;
    // The change, then more holds than /status lists decisions (20).
    await until(() => first.loop.decisions.filter((d) => d.action === 'hold').length >= 25, '25 holds after the change', 30_000);
    const status = await readStatus(first.url);
    expect(status.decisions.every((d) => d.action === 'hold')).toBe(true); // the change has scrolled out of decisions…
    expect(status.changes.map((d) => `${d.action} ${d.workersBefore}→${d.workersAfter}`)).toEqual(['up 1→2']); // …not out of changes
    const decisionLines = pool.logs.filter((l) => l['msg'] === 'scale decision');
    expect(decisionLines.map((l) => l['action'])).toEqual(['up']); // holds are at debug
    await until(async () => (await redis.llen(key('history'))) >= 2, 'points stored', 10_000);
    const pointsBefore = ((await (await fetch(`${first.url}/history`)).json()) as HistoryBody).points;
    await pool.stop();

    // An unrelated pool under the same name (other queues) on the same Redis starts with its own,
    // empty history: neither the other's points nor its changes (issue 27.1).
    const strangerStart = Date.now();
    const strangerPool = await poolOn('other');
    const stranger = strangerPool.daemon;
    await until(async () => ((await (await fetch(`${stranger.url}/history`)).json()) as HistoryBody).points.length >= 1, 'a first point of its own', 10_000);
    const strangers = (await (await fetch(`${stranger.url}/history`)).json()) as HistoryBody;
    expect(strangers.points.filter((p) => p.at < strangerStart)).toEqual([]);
    expect(strangers.changes.filter((d) => d.at < strangerStart)).toEqual([]);
    expect((await readStatus(stranger.url)).changes.filter((d) => d.at < strangerStart)).toEqual([]);
    await strangerPool.stop();

    const second = (await poolOn()).daemon;
    await until(async () => (await readStatus(second.url)).changes.length > 0, 'the stored change read back', 10_000);
    const again = await readStatus(second.url);
    expect(again.changes[0]).toMatchObject({ action: 'up', workersBefore: 1, workersAfter: 2, reason: 'test: grow to 2' });
    const history = (await (await fetch(`${second.url}/history`)).json()) as HistoryBody;
    expect(history.points.some((p) => p.at === pointsBefore[0]!.at)).toBe(true);
    expect(history.changes[0]).toMatchObject({ action: 'up' });
    // Bounded: the lists are trimmed on every write.
    expect(await redis.llen(key('changes'))).toBeLessThanOrEqual(KEEP_CHANGES);
    expect(await redis.ttl(key('history'))).toBeGreaterThan(0);
  });
});
