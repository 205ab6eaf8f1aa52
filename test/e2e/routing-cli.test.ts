/** `routes --check`, `enqueue --job`, selector errors in config, and the producer API, against a real Redis. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProducer } from '../../src/producer.js';
import { runCli } from '../helpers/cli.js';
import { client, deletePrefix, redisUrl, uniquePrefix } from '../helpers/redis.js';

const PROCESSOR = fileURLToPath(new URL('../fixtures/routed-jobs.mjs', import.meta.url));
const RULES = ['routing-rules:', '  - ["resource_boundary=cpu&urgency=high", null]', '  - ["*", "default"]'];

/** A command with this run's Redis as $REDIS_URL; `out` is stdout then stderr. */
async function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  const r = await runCli(args, { env: { REDIS_URL: redisUrl() } });
  return { code: r.code, out: r.stdout + r.stderr };
}

describe('routing from the command line', () => {
  const prefix = uniquePrefix('routes');
  let dir: string;
  let redis: Redis;
  const pool = (file: string, lines: string[]) =>
    writeFileSync(path.join(dir, file), [`processor: ${PROCESSOR}`, `redis-url: ${redisUrl()}`, `prefix: ${prefix}`, ...RULES, ...lines].join('\n'));

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'wp-routes-'));
    redis = client();
  });
  afterAll(async () => {
    await deletePrefix(prefix);
    redis.disconnect();
    rmSync(dir, { recursive: true, force: true });
  });

  it('routes --check fails for an actual queue nobody listens to, then passes once an instance does', async () => {
    pool('cpu.yml', ['queue-selector: "resource_boundary=cpu&urgency=high"']);
    const unlistened = await cli(['routes', '--config-dir', dir, '--check']);
    expect(unlistened.code, unlistened.out).toBe(1);
    expect(unlistened.out).toMatch(/CreateNewIssueWorker\s+urgency=high resource_boundary=cpu tags=issues\s+create_new_issue\s+create_new_issue\s+cpu/);
    expect(unlistened.out).toMatch(/SendEmail\s+.*\s+send_email\s+default\s+-/);
    expect(unlistened.out).toContain('warning: queue "default" is the actual queue of SendEmail, ImportIssueJob but no instance listens to it');
    // Without --check the same warning does not change the exit code.
    expect((await cli(['routes', '--config-dir', dir])).code).toBe(0);

    pool('catchall.yml', ['queue-selector: "urgency!=high"']);
    const ok = await cli(['routes', '--config-dir', dir, '--check']);
    expect(ok.code, ok.out).toBe(0);
    expect(ok.out).toContain('ok: every actual queue has a listener');
  });

  it('routes --check fails while an old queue holds jobs, and passes after migrate-jobs', async () => {
    // Jobs scheduled under the old rules, in SendEmail's generated queue.
    const old = await cli(['enqueue', '--queue', 'send_email', '--name', 'SendEmail', '--prefix', prefix, '--count', '3', '--delay', '600']);
    expect(old.code, old.out).toBe(0);
    const leftover = await cli(['routes', '--config-dir', dir, '--check']);
    expect(leftover.code, leftover.out).toBe(1);
    expect(leftover.out).toContain('warning: queue "send_email" still holds 3 delayed but is no job type\'s actual queue');

    const dry = await cli(['migrate-jobs', '--config-dir', dir, '--dry-run']);
    expect(dry.code, dry.out).toBe(0);
    expect(dry.out).toMatch(/send_email → default\s+delayed\s+3/);
    expect(await redis.zcard(`${prefix}:send_email:delayed`)).toBe(3);

    const moved = await cli(['migrate-jobs', '--config-dir', dir]);
    expect(moved.code, moved.out).toBe(0);
    expect(await redis.zcard(`${prefix}:send_email:delayed`)).toBe(0);
    expect(await redis.zcard(`${prefix}:default:delayed`)).toBe(3);
    const clean = await cli(['routes', '--config-dir', dir, '--check']);
    expect(clean.code, clean.out).toBe(0);
  });

  it('enqueue --job puts jobs in the actual queue the rules give, and refuses an unknown job type', async () => {
    const r = await cli(['enqueue', '--job', 'ImportIssueJob', '--config', path.join(dir, 'catchall.yml'), '--count', '4']);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('enqueued 4 jobs named "ImportIssueJob" to queue "default"');
    expect(await redis.llen(`${prefix}:default:wait`)).toBe(4);
    const cpu = await cli(['enqueue', '--job', 'CreateNewIssueWorker', '--config', path.join(dir, 'catchall.yml')]);
    expect(cpu.out).toContain('to queue "create_new_issue"');
    const unknown = await cli(['enqueue', '--job', 'Nope', '--config', path.join(dir, 'catchall.yml')]);
    expect(unknown.code).toBe(64);
    expect(unknown.out).toContain('--job: unknown job type "Nope"; the catalog has CreateNewIssueWorker, SendEmail, ImportIssueJob');
  });

  it('refuses a malformed selector in a config with a caret under the bad position (exit 78)', async () => {
    const bad = path.join(dir, 'bad.yaml.txt');
    writeFileSync(bad, [`processor: ${PROCESSOR}`, 'queue-selector: "urgency=high&&tags=x"'].join('\n'));
    const r = await cli(['check-config', bad]);
    expect(r.code).toBe(78);
    expect(r.out).toContain('queue-selector in');
    expect(r.out).toContain('expected an attribute name');
    expect(r.out).toContain('  urgency=high&&tags=x\n  ' + ' '.repeat(13) + '^');
    const unrouted = await cli(['check-config', '--', path.join(dir, 'cpu.yml')]);
    expect(unrouted.code, unrouted.out).toBe(0);
    writeFileSync(bad, [`processor: ${PROCESSOR}`, 'routing-rules: [["urgency=high", "fast"]]'].join('\n'));
    const partial = await cli(['check-config', bad]);
    expect(partial.code).toBe(78);
    expect(partial.out).toContain('no routing rule matches job types SendEmail, ImportIssueJob');
  });

  it('the producer API adds by job type to the actual queue', async () => {
    const processor = (await import(PROCESSOR)) as { default: { jobs: never[] } };
    const producer = createProducer({
      connection: { url: redisUrl(), maxRetriesPerRequest: null } as never,
      prefix,
      catalog: processor.default,
      rules: [['resource_boundary=cpu&urgency=high', null], ['*', 'default']],
    });
    try {
      expect(producer.queueOf('SendEmail')).toBe('default');
      const one = await producer.add('CreateNewIssueWorker', { n: 1 }, { delay: 60_000 });
      expect(one.queue).toBe('create_new_issue');
      expect(await redis.zscore(`${prefix}:create_new_issue:delayed`, one.id!)).not.toBeNull();
      const many = await producer.addBulk([
        { jobType: 'SendEmail', data: { n: 2 } },
        { jobType: 'CreateNewIssueWorker', data: { n: 3 } },
        { jobType: 'ImportIssueJob', data: { n: 4 } },
      ]);
      expect(many.map((m) => m.queue)).toEqual(['default', 'create_new_issue', 'default']);
      expect(await redis.hget(`${prefix}:create_new_issue:${many[1]!.id}`, 'name')).toBe('CreateNewIssueWorker');
      await expect(producer.add('Nope', {})).rejects.toThrow(/unknown job type "Nope"/);
      expect(() => createProducer({ connection: {} as never, catalog: processor.default, rules: [['urgency=high', 'x']] })).toThrow(/no routing rule matches/);
    } finally {
      await producer.close();
    }
  });
});
