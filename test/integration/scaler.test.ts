/**
 * GET /scaler and worker_pool_fleet_desired_pods with two daemons of one pool on one Redis (each a
 * "pod" of max-workers 2, --fleet-max-workers 5, so at most 3 pods can work): idle, they ask for the
 * one pod their min-workers need; under a load that wants more workers than the two pods have, they
 * ask for more pods (never past the 3 the cap lets work); after the load they ask for fewer only once
 * the window has passed; and both answer the same whenever they read the same registry. Both are
 * asked at once every 100 ms all along. About 30 s.
 */
import { describe, expect, it } from 'vitest';
import type { PodSignal } from '../../src/fleet/pods.js';
import { fixture, poolPerTest, type TestPool } from '../helpers/pool.js';
import { uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const WINDOW_S = 3;
const PERIOD_S = 0.5;
const CAP = 5;
const MAX_PODS = Math.ceil(CAP / 2);

const startPool = poolPerTest();

interface Poll {
  t: number;
  answers: PodSignal[];
}

async function ask(p: TestPool): Promise<PodSignal> {
  const r = await fetch(`${p.daemon.url}/scaler`);
  expect(r.status).toBe(200);
  return (await r.json()) as PodSignal;
}

describe('GET /scaler: the pods a fleet needs', () => {
  it(`rises under load (at most ${MAX_PODS} pods with fleet-max-workers ${CAP}), falls a window after it, the same on every pod`, async () => {
    const prefix = uniquePrefix('scaler');
    const flags = {
      prefix, name: 'scaled', queues: 'q', processor: fixture('sleep.mjs'), concurrency: 1, 'min-workers': 1, 'max-workers': 2,
      'fleet-max-workers': CAP, 'scaling-period': PERIOD_S, window: WINDOW_S, 'stop-timeout': 2,
    };
    const pools = [await startPool(flags), await startPool(flags)];
    const polls: Poll[] = [];
    let polling = true;
    const poller = (async () => {
      while (polling) {
        const t = Date.now();
        polls.push({ t, answers: await Promise.all(pools.map(ask)) });
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    const last = () => polls[polls.length - 1]?.answers;
    try {
      // Idle: both registered, each wanting its min-workers (1): one pod.
      await until(() => last()?.every((a) => a.currentPods === 2 && a.instances.length === 2 && a.desiredPods === 1), 'both pods registered and asking for 1 pod', 30_000);

      // A load of 1 s jobs that keeps far more than 4 workers busy.
      const q = pools[0]!.queue;
      await q.addBulk(Array.from({ length: 40 }, (_, i) => ({ name: 'j', data: { ms: 1000 }, opts: { jobId: `j${i}` } })));
      const rose = await until(() => polls.find((p) => p.answers.some((a) => a.desiredPods > 2)), 'more pods than the fleet has asked for', 30_000);
      const peak = await until(() => polls.find((p) => p.answers.some((a) => a.desiredPods === MAX_PODS)), `${MAX_PODS} pods asked for`, 30_000);
      console.log(`rose to ${rose.answers[0]!.desiredPods} pods ${rose.t - polls[0]!.t} ms into the run: ${rose.answers[0]!.reason}`);
      console.log(`peak: ${peak.answers[0]!.reason}`);
      await until(async () => (await q.getCompletedCount()) === 40, 'the load done', 60_000, 100);
      const finished = Math.max(...(await q.getCompleted(0, -1)).map((j) => j.finishedOn ?? 0));

      // After the load: fewer pods, but only once the window has passed.
      const fell = await until(() => polls.find((p) => p.t > finished && p.answers.every((a) => a.desiredPods === 1)), 'back to 1 pod', 30_000);
      const firstLower = polls.find((p) => p.t > finished && p.answers.some((a) => a.desiredPods < MAX_PODS))!;
      console.log(`after the last job ended: first fewer pods at +${firstLower.t - finished} ms, back to 1 at +${fell.t - finished} ms (window ${WINDOW_S} s)`);
      expect(firstLower.t - finished).toBeGreaterThanOrEqual((WINDOW_S - PERIOD_S) * 1000);

      // The gauge carries the same as /scaler (read between two /scaler answers).
      const before = await ask(pools[1]!);
      const metrics = await (await fetch(`${pools[1]!.daemon.url}/metrics`)).text();
      const after = await ask(pools[1]!);
      const gauge = /^worker_pool_fleet_desired_pods\{pool="scaled"\} (\d+)$/m.exec(metrics);
      expect(gauge, metrics.split('\n').filter((l) => l.includes('desired_pods')).join('\n')).not.toBeNull();
      expect([before.desiredPods, after.desiredPods]).toContain(Number(gauge![1]));
    } finally {
      polling = false;
      await poller;
    }

    // All along: never past what the cap lets work; every pod answered the same whenever both read
    // the same registry (each instance's published demand), which is nearly always.
    const all = polls.flatMap((p) => p.answers);
    expect(Math.max(...all.map((a) => a.desiredPods))).toBe(MAX_PODS);
    expect(all.every((a) => a.maxPods === MAX_PODS && a.fleetMaxWorkers === CAP)).toBe(true);
    const key = (a: PodSignal) => JSON.stringify(a.instances);
    const comparable = polls.filter((p) => key(p.answers[0]!) === key(p.answers[1]!));
    for (const p of comparable) expect(p.answers[1]!.desiredPods, JSON.stringify(p)).toBe(p.answers[0]!.desiredPods);
    console.log(`${polls.length} polls of both pods, ${comparable.length} on the same registry, all agreeing; ${polls.filter((p) => p.answers[0]!.desiredPods === p.answers[1]!.desiredPods).length} with the same answer`);
    expect(comparable.length).toBeGreaterThan(polls.length * 0.8);
  }, 120_000);
});
