/**
 * The chaos suite (issue 3): each scenario has its own redis-server with AOF on, and checks at the
 * end from Redis itself that every job enqueued completed, duplicates are no more than the jobs
 * interrupted, nothing is left in wait/active/failed, and the daemon is still up. A table is
 * printed per scenario. Job counts are multiplied by CHAOS_SCALE (`npm run soak` uses 10).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { Daemon } from '../../src/daemon/daemon.js';
import { CliProcess } from '../helpers/cli.js';
import { fixture, startPool, type TestPool } from '../helpers/pool.js';
import { until } from '../helpers/wait.js';
import { SCALE, addJobs, closeScenario, count, finish, openScenario, recorded, type Outcome, type Scenario } from './harness.js';

const TIMEOUT = 180_000 * SCALE;

let scenario: Scenario | undefined;
let running: TestPool | undefined;
afterEach(async () => {
  await running?.close();
  running = undefined;
  if (scenario) await closeScenario(scenario);
  scenario = undefined;
});

/** Start an in-process daemon on the scenario's Redis and count what happens to it. */
async function pool(s: Scenario, flags: Record<string, string>): Promise<{ d: Daemon; restarts: Record<string, number>; interrupted: () => number }> {
  running = await startPool({ 'redis-url': s.redis.url, prefix: s.prefix, queues: 'q', processor: fixture('record.mjs'), ...flags }, { waitReady: false });
  const d = running.daemon;
  const restarts: Record<string, number> = {};
  let interrupted = 0;
  d.supervisor.on('worker-exit', (e) => count(restarts, e.reason));
  d.handBack.on('outcome', (o) => (o.kind === 'returned' || o.kind === 'failed') && interrupted++);
  d.supervisor.on('worker-message', (_w, m) => (m.type === 'job-returned' || m.type === 'job-stalled') && interrupted++);
  return { d, restarts, interrupted: () => interrupted };
}

function check(o: Outcome, daemonUp: boolean): void {
  expect(o.lost).toBe(0);
  expect(o.completed).toBe(o.jobs);
  expect(o.duplicates).toBeLessThanOrEqual(o.interrupted);
  expect(o.leftover).toEqual({ wait: 0, active: 0, failed: 0, delayed: 0 });
  expect(daemonUp).toBe(true);
}

describe('chaos', () => {
  it(`kill -9 a random child every second while ${2000 * SCALE} jobs of 10–100 ms run, the pool scaling up and down`, async () => {
    const s = (scenario = await openScenario('kill -9 a child every second'));
    const { d, restarts, interrupted } = await pool(s, { concurrency: '4', 'min-workers': '2', 'max-workers': '5', 'scaling-period': '1', window: '2' });
    let ups = 0;
    let downs = 0;
    d.loop.onDecision((x) => (x.action === 'up' ? ups++ : x.action === 'down' ? downs++ : 0));
    await addJobs(s, 2000 * SCALE);
    let kills = 0;
    const killer = setInterval(() => {
      const alive = d.supervisor.workers().filter((w) => w.state === 'running');
      const victim = alive[Math.floor(Math.random() * alive.length)];
      if (victim?.pid) {
        process.kill(victim.pid, 'SIGKILL');
        kills++;
      }
    }, 1000);
    let o: Outcome;
    try {
      o = await finish(s, interrupted, restarts, TIMEOUT - 30_000);
    } finally {
      clearInterval(killer);
    }
    await until(() => d.supervisor.desired === 2, 'the pool back at min-workers once the work was done', 60_000);
    console.log(`${kills} kills; scaled up ${ups}×, down ${downs}×`);
    check(o, d.healthy());
  }, TIMEOUT);

  it(`GitLab's pattern: 10 workers, ${1000 * SCALE} jobs; at half-way kill -9 half the children and SIGTERM the rest`, async () => {
    const s = (scenario = await openScenario('half kill -9, half SIGTERM'));
    const { d, restarts, interrupted } = await pool(s, { concurrency: '1', 'min-workers': '10', 'max-workers': '10', 'start-seconds': '0.5' });
    await until(() => d.supervisor.runningCount() === 10, 'ten workers running', 60_000);
    const n = 1000 * SCALE;
    await addJobs(s, n);
    await until(async () => (await recorded(s)) >= n / 2, 'half the jobs done', TIMEOUT, 20);
    const children = d.supervisor.workers().filter((w) => w.state === 'running');
    children.forEach((w, i) => process.kill(w.pid!, i % 2 === 0 ? 'SIGKILL' : 'SIGTERM'));
    const o = await finish(s, interrupted, restarts, TIMEOUT - 30_000);
    check(o, d.healthy());
  }, TIMEOUT);

  it(`Redis restarted (stop, 5 s, start) while ${1000 * SCALE} jobs run`, async () => {
    const s = (scenario = await openScenario('Redis stop 5 s, start'));
    // A fetch whose reply the outage swallowed leaves its job locked by nobody: only BullMQ's stalled
    // check recovers it (lock + interval later), so this scenario shortens both to keep the suite short.
    const { d, restarts, interrupted } = await pool(s, { concurrency: '4', 'min-workers': '2', 'max-workers': '2', 'lock-duration': '5', 'stalled-interval': '5', 'lease-seconds': '2' });
    const n = 1000 * SCALE;
    await addJobs(s, n);
    await until(async () => (await recorded(s)) >= n * 0.3, '30% done', TIMEOUT, 20);
    await s.redis.stop({ keepDir: true });
    await new Promise((r) => setTimeout(r, 5000)); // the scenario: Redis is down for 5 s
    await s.redis.restart();
    const o = await finish(s, interrupted, restarts, TIMEOUT - 30_000);
    check(o, d.healthy());
  }, TIMEOUT);

  it('SIGTERM of the supervisor mid-run with jobs longer than stop-timeout: they come back and finish after a restart', async () => {
    const s = (scenario = await openScenario('supervisor SIGTERM, restart'));
    const restarts: Record<string, number> = {};
    let interrupted = 0;
    const cli = (): CliProcess => {
      const p = new CliProcess(['start', '--redis-url', s.redis.url, '--prefix', s.prefix, '--queues', 'q', '--processor', fixture('record.mjs'), '--concurrency', '4', '--min-workers', '2', '--max-workers', '2', '--stop-timeout', '1', '--metrics-port', '0', '--log-format', 'json']);
      p.on('log', (l) => {
        if (l.msg === 'worker exited') count(restarts, String(l['reason']));
        if (l.msg === 'job handed back to its queue') interrupted++;
      });
      return p;
    };
    // Four long jobs first (8 s on their first run, short after), then short ones.
    await addJobs(s, 4, () => ({ ms: 8000, retryMs: 50 }), 'long');
    await addJobs(s, 400 * SCALE);
    const first = cli();
    await until(async () => (await recorded(s)) >= 100, '100 short jobs done', 60_000, 20);
    const code1 = await first.stop();
    const counts = await s.queue.getJobCounts('failed', 'active');
    expect(code1).toBe(1); // forced: jobs were handed back
    expect(counts).toEqual({ failed: 0, active: 0 });
    expect(interrupted).toBeGreaterThanOrEqual(4);
    const second = cli();
    const o = await finish(s, () => interrupted, restarts, TIMEOUT - 30_000);
    expect(await second.stop()).toBe(0);
    check(o, true);
  }, TIMEOUT);

  it(`a processor that leaks memory is recycled and loses no job (${300 * SCALE} jobs)`, async () => {
    const s = (scenario = await openScenario('leaking processor, recycled'));
    const { d, restarts, interrupted } = await pool(s, { processor: fixture('leak.mjs'), concurrency: '2', 'min-workers': '2', 'max-workers': '2', 'max-memory-mb': '150', 'sample-interval': '0.2' });
    await addJobs(s, 300 * SCALE, () => ({ mb: 2 }));
    const o = await finish(s, interrupted, restarts, TIMEOUT - 30_000);
    await until(() => (restarts['max_memory'] ?? 0) > 0, 'a child recycled for memory');
    check(o, d.healthy());
  }, TIMEOUT);

  it(`a processor that hangs on some jobs: they time out, the child is replaced (${300 * SCALE} jobs + 5 hanging)`, async () => {
    const s = (scenario = await openScenario('hanging jobs, timed out'));
    const { d, restarts, interrupted } = await pool(s, { concurrency: '2', 'min-workers': '2', 'max-workers': '2', 'job-timeout': '1' });
    await s.queue.addBulk(Array.from({ length: 5 }, (_, i) => ({ name: 'hang', data: {}, opts: { jobId: `hang${i}` } })));
    await addJobs(s, 300 * SCALE);
    await until(async () => (await s.queue.getFailedCount()) === 5, 'the hanging jobs failed', TIMEOUT - 60_000);
    for (let i = 0; i < 5; i++) expect((await s.queue.getJob(`hang${i}`))!.failedReason).toMatch(/timed out after 1 s/);
    await s.queue.clean(0, 100, 'failed');
    const o = await finish(s, interrupted, restarts, TIMEOUT - 30_000);
    check(o, d.healthy());
    // One replacement per child that timed out (two hung jobs may share a child).
    expect(restarts['job_timeout']).toBeGreaterThanOrEqual(3);
  }, TIMEOUT);
});
