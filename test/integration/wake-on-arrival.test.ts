/**
 * Issue 16: a pool at zero workers wakes when a job arrives, not at its next scaling period: the
 * supervisor blocks on the queues' markers itself while it wants no worker. The scaling period here
 * is 60 s, so a job that runs within seconds was started by the arrival, not by a periodic tick.
 * The time from add to active is printed, not asserted tightly (a loaded host forks slowly).
 */
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { Daemon } from '../../src/daemon/daemon.js';
import { createLogger } from '../../src/logger.js';
import type { DecisionRecord } from '../../src/scaling/control-loop.js';
import { deletePrefix, queue as makeQueue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const SLEEP = fileURLToPath(new URL('../fixtures/sleep.mjs', import.meta.url));
const PERIOD_S = 60;

let cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const fn of cleanup.reverse()) await fn().catch(() => undefined);
  cleanup = [];
});

describe('wake on arrival (--min-workers 0)', () => {
  it('a job added to an idle pool at zero starts long before the next scaling period', async () => {
    const prefix = uniquePrefix('arrival');
    const config = loadConfig({
      env: {},
      flags: { 'redis-url': redisUrl(), prefix, queues: 'a,b', processor: SLEEP, 'min-workers': 0, 'max-workers': 2, 'scaling-period': PERIOD_S, window: PERIOD_S, 'metrics-port': 0, 'log-level': 'silent', 'stop-timeout': 5 },
    });
    const daemon = new Daemon({ config, log: createLogger({ level: 'silent', pretty: false }) });
    const b = makeQueue('b', prefix);
    cleanup.push(() => deletePrefix(prefix), () => b.close(), () => daemon.stop());
    const decisions: DecisionRecord[] = [];
    daemon.loop.onDecision((d) => decisions.push(d));
    await daemon.start();
    expect(daemon.supervisor.workers()).toHaveLength(0);
    // The BZPOPMIN of the watch is under way once the supervisor's connection has sent it; a job added
    // before that is still seen (its marker stays until popped).
    const job = await b.add('sleep', { ms: 50 });
    const done = await until(async () => (await b.getJob(job.id!))?.finishedOn && (await b.getJob(job.id!)), 'the job to run', PERIOD_S * 1000 / 3);
    const ms = done.processedOn! - done.timestamp;
    console.log(`add → active at zero workers: ${ms} ms (scaling period ${PERIOD_S} s)`);
    expect(ms).toBeLessThan((PERIOD_S * 1000) / 3);
    expect(decisions.find((d) => d.action === 'up')).toMatchObject({ workersBefore: 0, workersAfter: 1 });
  }, PERIOD_S * 1000);
});
