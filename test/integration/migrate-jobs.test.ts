/**
 * migrate-jobs against a real Redis: jobs spread over retrying, delayed and waiting states in an
 * old queue, a real pool consuming the old queue (and the new one) during the move, the migration
 * SIGKILLed part-way and run again. Every job must run exactly once, at or after its due time,
 * with its attempts and original timestamp.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { journalKey } from '../../src/migration/move-job.js';
import { CliProcess, runCli } from '../helpers/cli.js';
import { client, deletePrefix, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const PROCESSOR = fileURLToPath(new URL('../fixtures/routed-jobs.mjs', import.meta.url));

/** Jobs in the old queue. The figure is 10,000; MIGRATE_TEST_JOBS overrides it. */
const TOTAL = Number(process.env['MIGRATE_TEST_JOBS'] ?? 10_000);
const RETRYING = Math.round(TOTAL * 0.3);
const DELAYED = Math.round(TOTAL * 0.4);
const WAITING = TOTAL - RETRYING - DELAYED;
/** Jobs already in the new queue, so that some moved ids collide and must be renamed. */
const ALREADY_NEW = 50;

interface Expected {
  uid: string;
  kind: 'retrying' | 'delayed' | 'later' | 'waiting' | 'new';
  due: number;
  attemptsMade: number;
  timestamp: number;
}

interface Record {
  uid: string;
  queue: string;
  id: string;
  attemptsMade: number;
  timestamp: number;
  startedAt: number;
}

describe('migrate-jobs', () => {
  const prefix = uniquePrefix('migrate');
  const recordKey = `${prefix}-records`;
  let dir: string;
  let redis: Redis;
  let env: NodeJS.ProcessEnv;

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'wp-migrate-'));
    redis = client();
    env = { REDIS_URL: redisUrl(), ROUTED_RECORD_URL: redisUrl(), ROUTED_RECORD_KEY: recordKey };
  });
  afterAll(async () => {
    await deletePrefix(prefix);
    await redis.del(recordKey);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it(`moves ${TOTAL} retrying, delayed and waiting jobs exactly once, through a SIGKILL and a re-run, while a pool consumes the old queue`, async () => {
    const connection = { url: redisUrl(), maxRetriesPerRequest: null } as never;
    const oldQueue = new Queue('send_email', { connection, prefix });
    const newQueue = new Queue('default', { connection, prefix });
    const expected = new Map<string, Expected>();

    // Jobs of a job type already routed to "default", with ids the first delayed jobs of the old
    // queue will also have (RETRYING+1 …), so that those must be renamed when they move.
    await redis.set(`${prefix}:default:id`, String(RETRYING));
    const pre = await newQueue.addBulk(Array.from({ length: ALREADY_NEW }, (_, i) => ({ name: 'ImportIssueJob', data: { uid: `new-${i}` } })));
    for (const j of pre) expected.set(j.data.uid, { uid: j.data.uid, kind: 'new', due: j.timestamp, attemptsMade: 0, timestamp: j.timestamp });

    // Retrying: the first attempt fails, and the back-off keeps the job delayed for 18 s.
    await oldQueue.addBulk(Array.from({ length: RETRYING }, (_, i) => ({ name: 'SendEmail', data: { uid: `retry-${i}`, failFirst: true }, opts: { attempts: 2, backoff: { type: 'fixed', delay: 18_000 } } })));
    const failer = new Worker('send_email', async () => { throw new Error('first attempt fails'); }, { connection, prefix, concurrency: 50 });
    await until(async () => (await oldQueue.getDelayedCount()) === RETRYING, `${RETRYING} retrying jobs`);
    await failer.close();
    // Half the delayed jobs come due during the test; the other half ("later") only in an hour, so
    // they are certainly still delayed when their scores are compared, and are promoted by hand after.
    const delays = Array.from({ length: DELAYED }, (_, i) => (i % 2 === 0 ? 3_600_000 + i : 15_000 + ((i * 7919) % 8000)));
    for (let i = 0; i < DELAYED; i += 1000) {
      await oldQueue.addBulk(delays.slice(i, i + 1000).map((delay, k) => ({ name: 'SendEmail', data: { uid: `${(i + k) % 2 === 0 ? 'later' : 'delayed'}-${i + k}` }, opts: { delay } })));
    }
    for (let i = 0; i < WAITING; i += 1000) {
      await oldQueue.addBulk(Array.from({ length: Math.min(1000, WAITING - i) }, (_, k) => ({ name: 'SendEmail', data: { uid: `waiting-${i + k}`, ms: 2 } })));
    }

    // What each job must keep: its due time (the delayed score), attempts made and timestamp.
    const snapshot = new Map<string, { score: number; uid: string }>();
    const delayedIds = await redis.zrange(`${prefix}:send_email:delayed`, '0', '-1', 'WITHSCORES');
    for (let i = 0; i < delayedIds.length; i += 2) snapshot.set(delayedIds[i]!, { score: Number(delayedIds[i + 1]), uid: '' });
    const ids = [...(await redis.lrange(`${prefix}:send_email:wait`, 0, -1)), ...snapshot.keys()];
    expect(ids.length).toBe(RETRYING + DELAYED + WAITING);
    const read = redis.pipeline();
    for (const id of ids) read.hmget(`${prefix}:send_email:${id}`, 'data', 'atm', 'timestamp', 'delay');
    const rows = (await read.exec())!.map(([, v]) => v as string[]);
    ids.forEach((id, k) => {
      const [data, atm, timestamp] = rows[k]!;
      const uid = (JSON.parse(data!) as { uid: string }).uid;
      const kind = uid.split('-')[0] === 'retry' ? 'retrying' : (uid.split('-')[0] as 'delayed' | 'later' | 'waiting');
      const snap = snapshot.get(id);
      if (snap) snap.uid = uid;
      expected.set(uid, { uid, kind, due: snap ? Math.floor(snap.score / 4096) : 0, attemptsMade: Number(atm ?? 0), timestamp: Number(timestamp) });
    });
    expect([...expected.values()].filter((e) => e.kind === 'retrying').every((e) => e.attemptsMade === 1)).toBe(true);
    await oldQueue.close();
    await newQueue.close();

    // The new rules; the pool listens by selector to the new queues and, by name, to the old one.
    writeFileSync(
      path.join(dir, 'catchall.yml'),
      [
        `processor: ${PROCESSOR}`,
        `redis-url: ${redisUrl()}`,
        `prefix: ${prefix}`,
        'routing-rules:',
        '  - ["resource_boundary=cpu&urgency=high", null]',
        '  - ["*", "default"]',
        'queue-selector: "*"',
        'queues: [send_email]',
        'concurrency: 4',
        'min-workers: 1',
        'max-workers: 1',
        'metrics-port: 0',
        'log-level: warn',
      ].join('\n'),
    );
    const pool = new CliProcess(['--config', path.join(dir, 'catchall.yml')], { env });
    try {
      // First run: SIGKILLed once it has moved a part.
      const journal = journalKey(prefix);
      const first = new CliProcess(['migrate-jobs', '--config-dir', dir, '--include-waiting', '--batch-size', '50', '--batch-pause', '0.05'], { env });
      await until(async () => (await redis.hlen(journal)) >= Math.round(TOTAL * 0.15), 'the first run to move some jobs', 30_000, 5);
      first.kill('SIGKILL');
      const killed = await first.exited;
      expect(killed.signal).toBe('SIGKILL');
      const afterKill = await redis.hlen(journal);

      // Second run finishes the work.
      const second = await runCli(['migrate-jobs', '--config-dir', dir, '--include-waiting'], { env });
      expect(second.code, second.stdout + second.stderr).toBe(0);
      expect(second.stdout + second.stderr).toMatch(/send_email → default\s+delayed\s+\d+/);
      expect(second.stdout + second.stderr).toMatch(/journal: \d+ jobs moved by all runs so far/);
      expect(await redis.zcard(`${prefix}:send_email:delayed`)).toBe(0);

      // Moved jobs kept their fields; delayed ones still in the new queue kept their exact score
      // (every "later" one is certainly still there).
      const entries = Object.entries(await redis.hgetall(journal)).map(([from, v]) => ({ from, ...(JSON.parse(v) as { to: string; id: string; state: string }) }));
      expect(entries.length).toBeGreaterThan(afterKill);
      expect(new Set(entries.map((e) => e.state))).toEqual(new Set(['delayed', 'wait']));
      // Ids taken in the new queue were renamed: at least the "later" jobs among the colliding ones.
      expect(entries.filter((e) => e.id.startsWith('send_email-')).length).toBeGreaterThanOrEqual(ALREADY_NEW / 2);
      expect(entries.filter((e) => e.id === e.from.split('/')[1]).length).toBeGreaterThan(0); // the others kept theirs
      const laterScores = new Set<string>();
      const check = redis.pipeline();
      for (const e of entries) check.hmget(`${prefix}:default:${e.id}`, 'data', 'timestamp', 'name').zscore(`${prefix}:default:delayed`, e.id);
      const checked = (await check.exec())!;
      entries.forEach((e, k) => {
        const [data, timestamp, name] = checked[2 * k]![1] as string[];
        const score = checked[2 * k + 1]![1] as string | null;
        expect(name, `${e.from} → default/${e.id}`).toBe('SendEmail');
        const uid = (JSON.parse(data!) as { uid: string }).uid;
        expect(Number(timestamp)).toBe(expected.get(uid)!.timestamp);
        const before = snapshot.get(e.from.split('/')[1]!);
        if (e.state === 'delayed') expect(before?.uid).toBe(uid);
        if (score !== null && before) expect(Number(score), `score of ${uid}`).toBe(before.score);
        if (uid.startsWith('later-') && score !== null) laterScores.add(uid);
      });
      const later = [...expected.values()].filter((e) => e.kind === 'later');
      expect(laterScores.size).toBe(later.length);
      // Now let the "later" ones run (their due time is an hour away).
      const promote = redis.pipeline();
      const newIdOf = new Map(entries.map((e) => [e.from, e.id]));
      for (const [oldId, snap] of snapshot) if (snap.uid.startsWith('later-')) promote.zscore(`${prefix}:default:delayed`, newIdOf.get(`send_email/${oldId}`)!);
      expect(((await promote.exec()) ?? []).every(([, v]) => v !== null)).toBe(true);
      const fresh = new Queue('default', { connection, prefix });
      for (const [oldId, snap] of snapshot) {
        if (!snap.uid.startsWith('later-')) continue;
        const job = await fresh.getJob(newIdOf.get(`send_email/${oldId}`)!);
        await job!.promote();
      }
      await fresh.close();

      // Every job runs exactly once, never before it is due, with the attempts it had.
      const want = expected.size;
      await until(async () => (await redis.llen(recordKey)) >= want, `${want} jobs to complete`, 50_000, 200);
      await until(async () => {
        const [w, d, a] = await Promise.all(['wait', 'delayed', 'active'].map((s) => (s === 'delayed' ? redis.zcard(`${prefix}:default:${s}`) : redis.llen(`${prefix}:default:${s}`))));
        return w === 0 && d === 0 && a === 0;
      }, 'the queues to be empty');
      const records = (await redis.lrange(recordKey, 0, -1)).map((r) => JSON.parse(r) as Record);
      const byUid = new Map<string, Record[]>();
      for (const r of records) byUid.set(r.uid, [...(byUid.get(r.uid) ?? []), r]);
      const twice = [...byUid].filter(([, rs]) => rs.length > 1).map(([uid]) => uid);
      expect(twice, 'jobs that ran more than once').toEqual([]);
      expect([...expected.keys()].filter((uid) => !byUid.has(uid)), 'jobs that never ran').toEqual([]);
      expect(records.length).toBe(want);
      for (const e of expected.values()) {
        const r = byUid.get(e.uid)![0]!;
        expect(r.attemptsMade, e.uid).toBe(e.attemptsMade);
        expect(r.timestamp, e.uid).toBe(e.timestamp);
        if (e.kind === 'delayed' || e.kind === 'retrying') expect(r.startedAt, `${e.uid} ran before it was due`).toBeGreaterThanOrEqual(e.due - 1);
      }
      // The pool really took jobs from the old queue during the move, and moved ones from the new.
      expect(records.some((r) => r.queue === 'send_email')).toBe(true);
      expect(records.filter((r) => r.queue === 'default' && !r.uid.startsWith('new-')).length).toBeGreaterThanOrEqual(later.length);

      // The old queue is empty and still listened to: routes --check passes.
      const routes = await runCli(['routes', '--config-dir', dir, '--check'], { env });
      expect(routes.code, routes.stdout + routes.stderr).toBe(0);
    } finally {
      await pool.stop();
    }
  }, 120_000);
});
