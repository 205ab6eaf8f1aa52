import { describe, expect, it } from 'vitest';
import { ProcessorLoadError, toProcessor } from '../../src/worker/processor.js';
import { planRestart, DEFAULT_BACKOFF } from '../../src/policy/backoff.js';
import { isChildMessage, isParentMessage } from '../../src/ipc/messages.js';

const job = (name: string, data: unknown = {}) => ({ name, data }) as never;

describe('processor module contract', () => {
  it('runs one function for every job', async () => {
    const p = toProcessor({ default: async (j: { name: string }) => `ran ${j.name}` }, 'f.js');
    expect(await p.run(job('anything'))).toBe('ran anything');
    expect(p.names).toBeUndefined();
  });

  it('routes by job name and fails clearly on an unknown one', async () => {
    const p = toProcessor({ default: { handlers: { a: async () => 'A', b: async () => 'B' } } }, 'f.js');
    expect(await p.run(job('b'))).toBe('B');
    await expect(p.run(job('c'))).rejects.toThrow('no handler for job name "c" (this processor handles: a, b)');
    await expect(p.run(job('toString'))).rejects.toThrow(/no handler/);
  });

  it('accepts a CommonJS export (module.exports = fn)', async () => {
    const fn = async () => 7;
    expect(await toProcessor(fn, 'f.cjs').run(job('x'))).toBe(7);
  });

  it.each([
    [{ default: 42 }, /default export must be a function .* got a number/],
    [{ default: { handlers: 'x' } }, /"handlers" must be an object/],
    [{ default: { handlers: { a: 1 } } }, /handler "a" must be a function, got a number/],
    [{ default: { init: 'no', handlers: {} } }, /"init" must be a function/],
  ])('rejects a malformed export %j', (mod, message) => {
    expect(() => toProcessor(mod, 'f.js')).toThrow(ProcessorLoadError);
    expect(() => toProcessor(mod, 'f.js')).toThrow(message);
  });
});

describe('restart back-off', () => {
  const o = DEFAULT_BACKOFF;
  it('restarts a worker that ran fine at once and forgets past failures', () => {
    expect(planRestart(o, { failedStarts: 3 }, { now: 10_000, livedMs: 60_000, becameReady: true })).toEqual({ kind: 'restart', atMs: 10_000, failedStarts: 0 });
  });
  it('backs off 1 s, 2 s, 4 s, 8 s, then goes fatal for the cooldown', () => {
    let health = { failedStarts: 0 };
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      const plan = planRestart(o, health, { now: 0, livedMs: 100, becameReady: false });
      expect(plan.kind).toBe('restart');
      delays.push(plan.kind === 'restart' ? plan.atMs : -1);
      health = { failedStarts: plan.failedStarts };
    }
    expect(delays).toEqual([1000, 2000, 4000, 8000]);
    expect(planRestart(o, health, { now: 0, livedMs: 100, becameReady: true })).toEqual({ kind: 'fatal', untilMs: 300_000, failedStarts: 5 });
  });
  it('caps the delay', () => {
    const plan = planRestart({ ...o, retries: 100 }, { failedStarts: 20 }, { now: 0, livedMs: 0, becameReady: false });
    expect(plan).toEqual({ kind: 'restart', atMs: 60_000, failedStarts: 21 });
  });
});

describe('IPC message guards', () => {
  it('accepts well-formed messages and rejects the rest', () => {
    expect(isChildMessage({ type: 'sample', at: 5, busyMs: 1, busySlots: 0, processed: 0, failed: 0, rssBytes: 1 })).toBe(true);
    expect(isChildMessage({ type: 'sample', at: 5, busyMs: '1', busySlots: 0, processed: 0, failed: 0, rssBytes: 1 })).toBe(false);
    expect(isChildMessage({ type: 'job-end', queue: 'q', id: '1', name: 'n', status: 'lost', durationMs: 1 })).toBe(false);
    expect(isChildMessage({ type: 'nope' })).toBe(false);
    expect(isChildMessage(null)).toBe(false);
    expect(isParentMessage({ type: 'drain', reason: 'scale_down' })).toBe(true);
    expect(isParentMessage({ type: 'start', settings: { pool: 'p' } })).toBe(false);
  });

  it("refuses start settings without the token base the supervisor finds the child's jobs by", () => {
    const settings = { pool: 'p', workerId: 'worker-1', tokenBase: 'b', redisUrl: 'redis://x', prefix: 'bull', queues: ['q'], processor: 'p.js', concurrency: 1, sampleIntervalMs: 1000, orphanTimeoutMs: 1000, logLevel: 'info', logPretty: false, lockDurationMs: 30_000, stalledIntervalMs: 30_000, maxStalledCount: 2, jobTimeoutMs: 0, maxJobs: 0 };
    expect(isParentMessage({ type: 'start', settings })).toBe(true);
    expect(isParentMessage({ type: 'start', settings: { ...settings, tokenBase: '' } })).toBe(false);
    const { tokenBase: _, ...without } = settings;
    expect(isParentMessage({ type: 'start', settings: without })).toBe(false);
  });
});
