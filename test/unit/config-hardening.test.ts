/**
 * Issue 13, items 4, 5, 6 and 11 in the configuration itself (pure: no Redis, no processes):
 * queue names BullMQ refuses, every key's reload effect, durations bounded by Node's timers, a
 * YAML alias bomb, prototype keys as queue names, and the one redaction every printer uses.
 */
import { describe, expect, it } from 'vitest';
import { loadConfig, type RawValues } from '../../src/config/load.js';
import { planReload, reloadEffect } from '../../src/config/reload-plan.js';
import { childEnvironment, normalizeRedisUrl, redactText, redactUrl, redactValue } from '../../src/secrets.js';
import { OPTIONS } from '../../src/config/schema.js';
import { clampTimerMs, MAX_TIMER_MS } from '../../src/timing.js';
import { configErrorOf as error } from '../helpers/config-error.js';
import { tempDir } from '../helpers/temp-files.js';

const { file } = tempDir('hardening');


const load = (flags: RawValues, env: NodeJS.ProcessEnv = {}) => loadConfig({ flags, env });

describe('13.4 queue names BullMQ refuses', () => {
  it('refuses a queue name with ":" from a flag, the environment and a file, naming the key and the value', () => {
    expect(error(() => load({ queues: 'q6,x:y' }))).toBe(`--queues: "x:y" is not allowed; a queue name cannot contain ':' (BullMQ separates the parts of its keys with it)`);
    expect(error(() => load({}, { WORKER_POOL_QUEUES: 'a:b' }))).toMatch(/^WORKER_POOL_QUEUES: "a:b" is not allowed; a queue name cannot contain ':'/);
    const f = file('colon.yml', 'queues: [q6, "x:y"]\n');
    expect(error(() => load({ config: f }))).toMatch(/^queues in .*colon\.yml: "x:y" is not allowed/);
  });

  it('refuses a global-concurrency queue with ":"', () => {
    expect(error(() => load({ queues: 'a', 'global-concurrency': 'a:b=1' }))).toMatch(/^--global-concurrency: "a:b" is not allowed; a queue name cannot contain ':'/);
  });
});

describe('13.4 every key has one reload effect', () => {
  it('each file key of the schema either applies on reload (live or by new workers) or needs a restart', () => {
    for (const o of OPTIONS) {
      if (o.cliOnly && o.key !== 'embedded-redis') continue;
      expect(reloadEffect(o.key), o.key).toMatch(/^(live|via-queues|workers|restart)$/);
    }
  });

  it('job-timeout, lock-duration, stalled-interval and max-stalled-count replace the workers (they read them at start)', () => {
    const old = load({ queues: 'a' });
    for (const flags of [{ 'job-timeout': 9 }, { 'lock-duration': 10 }, { 'stalled-interval': 10 }, { 'max-stalled-count': 5 }]) {
      const plan = planReload(old, load({ queues: 'a', ...flags }));
      expect(plan, JSON.stringify(flags)).toMatchObject({ changed: [Object.keys(flags)[0]], replaceWorkers: true, needRestart: [] });
    }
  });

  it('start-seconds, start-retries and fatal-cooldown are reported as needing a restart, and kept', () => {
    const old = load({ queues: 'a' });
    const plan = planReload(old, load({ queues: 'a', 'start-seconds': 3, 'start-retries': 9, 'fatal-cooldown': 10 }));
    expect(plan.needRestart).toEqual(['start-seconds', 'start-retries', 'fatal-cooldown']);
    expect(plan.changed).toEqual([]);
    expect(plan.effective).toMatchObject({ startSeconds: old.startSeconds, startRetries: old.startRetries, fatalCooldown: old.fatalCooldown });
  });
});

describe('13.6 durations a Node timer can wait', () => {
  it('refuses every duration over 2^31−1 ms with the key, the value and the maximum', () => {
    const durations = OPTIONS.filter((o) => o.kind === 'seconds');
    expect(durations.length).toBeGreaterThan(8);
    for (const o of durations) {
      const msg = error(() => load({ [o.key]: '3000000' }));
      expect(msg, o.key).toMatch(new RegExp(`^--${o.key}: "3000000" is not allowed; expected a number of seconds .*≤ (2147483|${o.max})`));
    }
    // The longest allowed still works (window ≥ scaling-period).
    expect(load({ 'stop-timeout': '2147483', 'fatal-cooldown': 2147483 }).stopTimeout).toBe(2147483);
  });

  it('clamps a job-supplied limit to the longest timer', () => {
    expect(clampTimerMs(2_592_000_000)).toBe(MAX_TIMER_MS);
    expect(clampTimerMs(1500)).toBe(1500);
  });
});

describe('13.11 YAML and prototype keys', () => {
  it('a YAML alias bomb is a config error, not an unexpected one', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f'].entries()) {
      const prev = 'abcde'[i]!;
      levels.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(',')}]`);
    }
    const f = file('bomb.yml', levels.join('\n') + '\nqueues: *f\n');
    expect(error(() => load({ config: f }))).toMatch(/^config: .*bomb\.yml cannot be read as YAML: Excessive alias count/);
  });

  it('"constructor", "toString" and "__proto__" are queue names like any other in global-concurrency', () => {
    const c = load({ queues: 'constructor,toString,__proto__', 'global-concurrency': 'constructor=1,toString=2,__proto__=3' });
    expect(Object.entries(c.globalConcurrency)).toEqual([
      ['constructor', 1],
      ['toString', 2],
      ['__proto__', 3],
    ]);
    const f = file('proto.yml', 'queues: [constructor]\nglobal-concurrency:\n  constructor: 1\n');
    expect(load({ config: f }).globalConcurrency).toEqual({ constructor: 1 });
  });
});

describe('13.5 one redaction for every printer', () => {
  const SECRET = 'gen/erated+sec@ret:99';

  it('reads a password with "/", "@" and ":" written as is, and redacts it from URLs and text', () => {
    const raw = `redis://pool:${SECRET}@127.0.0.1:6390/2`;
    const url = normalizeRedisUrl(raw);
    const u = new URL(url);
    expect([u.hostname, u.port, u.pathname, u.username, decodeURIComponent(u.password)]).toEqual(['127.0.0.1', '6390', '/2', 'pool', SECRET]);
    expect(redactUrl(raw)).toBe('redis://pool:***@127.0.0.1:6390/2');
    expect(redactUrl(url)).toBe('redis://pool:***@127.0.0.1:6390/2');
    expect(redactText(`cannot reach "${raw}" (ECONNREFUSED)`)).toBe('cannot reach "redis://pool:***@127.0.0.1:6390/2" (ECONNREFUSED)');
    // Remembered: the bare value is gone from any text too.
    expect(redactText(`WRONGPASS for ${SECRET}`)).toBe('WRONGPASS for ***');
  });

  it('redacts ?password= and keeps other parameters', () => {
    expect(redactUrl('redis://127.0.0.1:6379/0?password=hunter2x&family=4')).toBe('redis://127.0.0.1:6379/0?password=***&family=4');
    expect(redactText('at redis://h:1?name=a@b')).toBe('at redis://h:1?name=a@b');
  });

  it('config errors and log arguments are redacted', () => {
    const msg = error(() => load({ 'redis-url': `http://u:${SECRET}@h` }));
    expect(msg).not.toContain(SECRET);
    expect(msg).toContain('u:***@');
    expect(redactValue({ err: new Error(`boom redis://:${SECRET}@h`), nested: { url: `redis://x:${SECRET}@h` } })).toEqual({
      err: expect.objectContaining({ message: 'boom redis://:***@h' }),
      nested: { url: 'redis://x:***@h' },
    });
  });

  it("children's environment has none of the pool's variables, no REDIS_URL with a password, no notify socket", () => {
    const env = childEnvironment({ PATH: '/bin', WORKER_POOL_REDIS_URL: 'redis://:pw12@h', REDIS_URL: 'redis://:pw34@h', NOTIFY_SOCKET: '/run/x', WATCHDOG_USEC: '1', HOME: '/h' });
    expect(env).toEqual({ PATH: '/bin', HOME: '/h' });
    expect(childEnvironment({ REDIS_URL: 'redis://cache:6379' })).toEqual({ REDIS_URL: 'redis://cache:6379' });
  });
});
