/**
 * The chaos suite's common part: an own redis-server (AOF on) per scenario, jobs whose processor
 * records each run to its end (test/fixtures/record.mjs), the checks made from Redis itself at the
 * end, and the table printed per scenario. CHAOS_SCALE multiplies job counts (npm run soak).
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { startEmbeddedRedis, type EmbeddedRedis } from '../../src/redis/embedded.js';
import { client, queue as openQueue, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

export const SCALE = Number(process.env['CHAOS_SCALE'] ?? '1') || 1;

export interface Scenario {
  name: string;
  redis: EmbeddedRedis;
  prefix: string;
  queue: Queue;
  c: Redis;
  runs: string;
  ids: string[];
  startedAt: number;
}

export async function openScenario(name: string): Promise<Scenario> {
  const redis = await startEmbeddedRedis({ appendOnly: true });
  const prefix = uniquePrefix('chaos');
  const queue = openQueue('q', prefix, redis.url);
  queue.on('error', () => undefined);
  const c = client(redis.url);
  c.on('error', () => undefined);
  return { name, redis, prefix, queue, c, runs: `${prefix}:runs`, ids: [], startedAt: performance.now() };
}

/** Enqueue n jobs of 10–100 ms (deterministic spread), each recording its runs. */
export async function addJobs(s: Scenario, n: number, extra: (i: number) => Record<string, unknown> = () => ({}), name = 'j'): Promise<void> {
  const from = s.ids.length;
  const jobs = Array.from({ length: n }, (_, k) => {
    const i = from + k;
    return { name, data: { ms: 10 + ((i * 53) % 91), record: s.runs, redis: s.redis.url, ...extra(i) }, opts: { jobId: `j${i}` } };
  });
  for (const j of jobs) s.ids.push(j.opts.jobId);
  for (let k = 0; k < jobs.length; k += 1000) await s.queue.addBulk(jobs.slice(k, k + 1000));
}

export const recorded = (s: Scenario): Promise<number> => s.c.hlen(s.runs);

export interface Outcome {
  scenario: string;
  jobs: number;
  completed: number;
  duplicates: number;
  lost: number;
  interrupted: number;
  restarts: Record<string, number>;
  seconds: number;
  leftover: Record<string, number>;
}

/** Wait until every job is recorded and completed, then check from Redis. */
export async function finish(s: Scenario, interrupted: () => number, restarts: Record<string, number>, timeoutMs = 90_000): Promise<Outcome> {
  const n = s.ids.length;
  await until(async () => (await recorded(s)) >= n, `all ${n} jobs recorded`, timeoutMs, 100).catch(() => undefined);
  await until(async () => (await s.queue.getCompletedCount()) >= n, `all ${n} jobs completed`, 15_000, 100).catch(() => undefined);
  const seconds = (performance.now() - s.startedAt) / 1000;
  const runs = await s.c.hgetall(s.runs);
  const completedIds = new Set(await s.c.zrange(`${s.prefix}:q:completed`, '0', '-1'));
  const completed = s.ids.filter((id) => completedIds.has(id) && Number(runs[id] ?? 0) >= 1).length;
  const duplicates = Object.values(runs).reduce((d, v) => d + Math.max(0, Number(v) - 1), 0);
  const leftover = (await s.queue.getJobCounts('wait', 'active', 'failed', 'delayed')) as Record<string, number>;
  const out: Outcome = { scenario: s.name, jobs: n, completed, duplicates, lost: n - completed, interrupted: interrupted(), restarts, seconds, leftover };
  console.log(table([out]));
  for (const id of s.ids.filter((x) => !completedIds.has(x) || !runs[x]).slice(0, 10)) {
    const j = await s.queue.getJob(id);
    console.log(`not completed: ${id} state=${await s.queue.getJobState(id)} runs=${runs[id] ?? 0} started=${j?.attemptsStarted} stalls=${j?.stalledCounter} reason=${j?.failedReason ?? ''} lock=${await s.c.get(`${s.prefix}:q:${id}:lock`)}`);
  }
  return out;
}

export async function closeScenario(s: Scenario): Promise<void> {
  await s.queue.close().catch(() => undefined);
  s.c.disconnect();
  await s.redis.stop();
}

export function table(rows: Outcome[]): string {
  const head = '| scenario | jobs | completed | duplicates | lost | interrupted | restarts by reason | time |';
  const sep = '| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: |';
  const lines = rows.map((r) => {
    const restarts = Object.entries(r.restarts).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${v}`).join(', ') || 'none';
    return `| ${r.scenario} | ${r.jobs} | ${r.completed} | ${r.duplicates} | ${r.lost} | ${r.interrupted} | ${restarts} | ${r.seconds.toFixed(1)} s |`;
  });
  return [head, sep, ...lines].join('\n');
}

export function count(into: Record<string, number>, key: string): void {
  into[key] = (into[key] ?? 0) + 1;
}
