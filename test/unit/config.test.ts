import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { configErrorOf as error } from '../helpers/config-error.js';
import { tempDir } from '../helpers/temp-files.js';

const { dir, file } = tempDir('config');
const processor = file('jobs.mjs', 'export default async () => 1;\n');


describe('config loading', () => {
  it('has the documented defaults', () => {
    const c = loadConfig({ env: {}, flags: {} });
    expect(c).toMatchObject({
      name: 'default',
      redisUrl: 'redis://127.0.0.1:6379',
      queues: ['default'],
      concurrency: 1,
      minWorkers: 1,
      maxWorkers: 4,
      scalingPeriod: 5,
      window: 30,
      utilizationThreshold: 0.5,
      stopTimeout: 25,
      metricsHost: '127.0.0.1',
      metricsPort: 9464,
      logLevel: 'info',
    });
  });

  it('takes defaults < file < environment < flags', () => {
    const cfg = file('prec.yml', 'min-workers: 2\nmax-workers: 9\nconcurrency: 3\nqueues: [a, b]\n');
    const c = loadConfig({
      flags: { config: cfg, 'max-workers': '7' },
      env: { WORKER_POOL_MIN_WORKERS: '3', WORKER_POOL_MAX_WORKERS: '8' },
    });
    expect(c.concurrency).toBe(3); // file over default
    expect(c.minWorkers).toBe(3); // env over file
    expect(c.maxWorkers).toBe(7); // flag over env and file
    expect(c.queues).toEqual(['a', 'b']);
    expect(c.name).toBe('prec'); // from the file's base name
  });

  it('uses $REDIS_URL as the default Redis, below the file and the flags', () => {
    expect(loadConfig({ env: { REDIS_URL: 'redis://elsewhere:6380' } }).redisUrl).toBe('redis://elsewhere:6380');
    const cfg = file('redis.yml', 'redis-url: redis://fromfile:6379\n');
    expect(loadConfig({ env: { REDIS_URL: 'redis://elsewhere:6380' }, flags: { config: cfg } }).redisUrl).toBe('redis://fromfile:6379');
  });

  it('resolves a processor path in a file relative to that file', () => {
    const cfg = file('rel.yml', 'processor: ./jobs.mjs\n');
    expect(loadConfig({ env: {}, flags: { config: cfg }, cwd: '/' }).processor).toBe(processor);
  });

  it.each([
    [{ 'min-workers': 'abc' }, /--min-workers: "abc" is not allowed; expected a whole number/],
    [{ 'min-workers': '2.5' }, /--min-workers: "2.5" is not allowed/],
    [{ 'max-workers': '0' }, /--max-workers: "0" is not allowed; expected a whole number ≥ 1/],
    [{ 'utilization-threshold': '0' }, /--utilization-threshold: "0" is not allowed; expected a number > 0 and ≤ 1/],
    [{ 'utilization-threshold': '1.5' }, /--utilization-threshold: "1.5" is not allowed/],
    [{ 'scaling-period': '-1' }, /--scaling-period: "-1" is not allowed; expected a number of seconds > 0/],
    [{ queues: 'a,,b' }, /--queues: "a,,b" is not allowed; expected a comma-separated list of non-empty names/],
    [{ queues: 'a,a' }, /lists a queue twice/],
    [{ 'log-level': 'loud' }, /--log-level: "loud" is not allowed; expected one of fatal, error, warn, info, debug, trace, silent/],
    [{ 'min-workers': '5', 'max-workers': '2' }, /^min-workers: 5 is not allowed; it must be ≤ max-workers \(2\)$/],
    [{ window: '2', 'scaling-period': '5' }, /^window: 2 is not allowed; it must be ≥ scaling-period \(5\)$/],
    [{ 'redis-url': 'http://x' }, /--redis-url: "http:\/\/x\/?" is not allowed; expected redis:\/\//],
    [{ processor: './nope.js' }, /processor: ".\/nope.js" is not allowed; no such file/],
  ])('rejects %j with one line naming the key', (flags, message) => {
    expect(error(() => loadConfig({ env: {}, flags }))).toMatch(message);
  });

  it('names the environment variable when the bad value came from there', () => {
    expect(error(() => loadConfig({ env: { WORKER_POOL_CONCURRENCY: 'many' } }))).toMatch(/^WORKER_POOL_CONCURRENCY: "many" is not allowed/);
    expect(error(() => loadConfig({ env: { WORKER_POOL_MIN_WORKER: '2' } }))).toMatch(/^WORKER_POOL_MIN_WORKER: unknown variable/);
  });

  it('names the file and the key for bad file contents', () => {
    const unknown = file('unknown.yml', 'min-workers: 1\nmax-wrokers: 3\n');
    expect(error(() => loadConfig({ env: {}, flags: { config: unknown } }))).toMatch(/^max-wrokers in .*unknown\.yml line 2: unknown key; did you mean max-workers\?/);
    const faraway = file('faraway.yml', 'min-workers: 1\nzzz: 3\n');
    expect(error(() => loadConfig({ env: {}, flags: { config: faraway } }))).toMatch(/^zzz in .*faraway\.yml line 2: unknown key; allowed keys are /);
    const bad = file('bad.yml', 'concurrency: lots\n');
    expect(error(() => loadConfig({ env: {}, flags: { config: bad } }))).toMatch(/^concurrency in .*bad\.yml: "lots" is not allowed; expected a whole number/);
    const yaml = file('syntax.yml', 'queues: [a, b\nmin-workers: 1\n');
    expect(error(() => loadConfig({ env: {}, flags: { config: yaml } }))).toMatch(/syntax\.yml.* is not valid YAML/);
    const list = file('list.yml', '- a\n- b\n');
    expect(error(() => loadConfig({ env: {}, flags: { config: list } }))).toMatch(/must be a mapping/);
    expect(error(() => loadConfig({ env: {}, flags: { config: path.join(dir, 'missing.yml') } }))).toMatch(/cannot read .*missing\.yml \(ENOENT\)/);
  });

  it('requires a processor when asked to', () => {
    expect(error(() => loadConfig({ env: {}, requireProcessor: true }))).toMatch(/^processor: missing/);
    expect(loadConfig({ env: {}, flags: { processor }, requireProcessor: true }).processor).toBe(processor);
  });

  it('never shows the Redis password in an error', () => {
    const msg = error(() => loadConfig({ env: {}, flags: { 'redis-url': 'http://user:s3cret@host' } }));
    expect(msg).not.toContain('s3cret');
  });
});
