/**
 * Issue 15, item 3: the consumption watchdog. A child whose Redis connections go quiet (open, but
 * nothing passes: a proxy stops forwarding them) stays alive and reports samples, but takes no
 * job while its queue fills. It is replaced within stuck-seconds + one sample, counted as
 * exits{reason="stuck"}, and its replacement drains the queue. An idle pool is never "stuck".
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { fixture, startPool, type TestPool } from '../helpers/pool.js';
import { startQuietProxy, type QuietProxy } from '../helpers/quiet-proxy.js';
import { queue as openQueue, redisUrl } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

let pool: TestPool | undefined;
let proxy: QuietProxy | undefined;
afterEach(async () => {
  await pool?.close();
  await proxy?.close();
  pool = undefined;
});

const STUCK_SECONDS = 3;
const SAMPLE_SECONDS = 0.5;

describe('consumption watchdog', () => {
  it('a child whose connections went quiet is replaced within stuck-seconds + one sample, and the queue drains', async () => {
    const real = new URL(redisUrl());
    proxy = await startQuietProxy(Number(real.port || 6379));
    pool = await startPool({
      'redis-url': `redis://127.0.0.1:${proxy.port}`,
      queues: 'q',
      processor: fixture('record.mjs'),
      concurrency: '2',
      'min-workers': '1',
      'max-workers': '1',
      'stuck-seconds': String(STUCK_SECONDS),
      'sample-interval': String(SAMPLE_SECONDS),
      'stop-timeout': '5',
    });
    const { daemon: d, logs, prefix } = pool;
    const q = openQueue('q', prefix);
    await q.add('ok', { ms: 10 }, { jobId: 'warm' });
    await until(async () => (await q.getJobState('warm')) === 'completed', 'a first job completed', 20_000);
    // Idle longer than stuck-seconds with nothing to do: not stuck.
    await new Promise((r) => setTimeout(r, (STUCK_SECONDS + 1) * 1000));
    expect(logs.filter((l) => /\(stuck\)/.test(String(l['msg'])))).toEqual([]);

    // Every connection of the child goes quiet (the supervisor's own stay).
    const first = d.supervisor.workers()[0]!;
    const admin = new Redis(redisUrl());
    const list = (await admin.client('LIST')) as string;
    admin.disconnect();
    // Only connections through the proxy can be silenced; of those, all but the supervisor's (its
    // fleet registration's too: a supervisor that cannot renew its lease stops every worker).
    const ports = list
      .split('\n')
      .filter((l) => !/name=worker-pool:[^ ]*:(supervisor|events|fleet)\b/.test(l))
      .map((l) => Number(/ addr=[^ ]*:(\d+)/.exec(' ' + l)?.[1]))
      .filter((p) => Number.isFinite(p));
    expect(proxy.silence(ports)).toBeGreaterThanOrEqual(2);
    const quietAt = performance.now();
    await q.addBulk(Array.from({ length: 20 }, (_, i) => ({ name: 'ok', data: { ms: 10 }, opts: { jobId: `j${i}` } })));

    const line = await until(() => logs.find((l) => /\(stuck\)/.test(String(l['msg']))), 'the stuck worker replaced', 30_000);
    const seconds = (performance.now() - quietAt) / 1000;
    console.log(`watchdog: quiet connection → replaced in ${seconds.toFixed(2)} s (stuck-seconds ${STUCK_SECONDS}, sample ${SAMPLE_SECONDS} s): ${JSON.stringify(line)}`);
    expect(line['worker']).toBe(first.id);
    expect(seconds).toBeLessThan(STUCK_SECONDS + SAMPLE_SECONDS + 5); // + slack for a loaded 2-core host
    await until(async () => (await q.getJobCounts('completed'))['completed'] === 21, 'the queue drained by the replacement', 30_000, 200);
    const metrics = async () => (await (await fetch(`${d.url}/metrics`)).text()).split('\n').find((l) => l.startsWith('worker_pool_worker_exits_total{') && l.includes('reason="stuck"'));
    await until(async () => (await metrics())?.endsWith(' 1'), 'exits{reason="stuck"} counted', 20_000, 200);
    await q.close();
  }, 90_000);
});
