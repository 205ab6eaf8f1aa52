import { describe, expect, it } from 'vitest';
import { ProcessorLoadError, toProcessor } from '../../src/worker/processor.js';
import { toWorkerOptions, WorkerOptionsError } from '../../src/worker/worker-options.js';

describe('a processor module\'s workerOptions', () => {
  it('passes on the BullMQ Worker options the pool does not own', () => {
    const backoffStrategy = (n: number) => n * 10;
    const opts = { limiter: { max: 10, duration: 1000 }, settings: { backoffStrategy }, removeOnComplete: { count: 1000 }, removeOnFail: 50, maxStartedAttempts: 3, skipStalledCheck: false };
    expect(toWorkerOptions(opts, 'p')).toEqual(opts);
    expect(toWorkerOptions(undefined, 'p')).toEqual({});
  });

  it.each([
    ['concurrency', 4, /workerOptions\.concurrency is set by the pool, not the processor: use --concurrency/],
    ['connection', {}, /workerOptions\.connection is set by the pool.*--redis-url/],
    ['lockDuration', 60000, /workerOptions\.lockDuration is set by the pool.*--lock-duration/],
    ['stalledInterval', 1000, /--stalled-interval/],
    ['maxStalledCount', 3, /--max-stalled-count/],
    ['prefix', 'x', /--prefix/],
    ['autorun', true, /the pool starts and stops its workers/],
    ['useWorkerThreads', true, /already its own process/],
    ['lockRenewTim', 1, /workerOptions\.lockRenewTim is not a BullMQ Worker option the pool passes on \(allowed: limiter, settings/],
  ])('refuses %s in one line naming what to use', (key, value, message) => {
    expect(() => toWorkerOptions({ [key]: value }, 'processor p.mjs')).toThrow(message);
    expect(() => toWorkerOptions({ [key]: value }, 'processor p.mjs')).toThrow(WorkerOptionsError);
  });

  it.each([
    [{ limiter: { max: 0, duration: 1000 } }, /limiter must be \{ max: N, duration: MS \}/],
    [{ settings: { backoffStrategy: 'linear' } }, /settings\.backoffStrategy must be a function, got string/],
    [{ removeOnComplete: true }, /removeOnComplete must be .* \(true breaks BullMQ 6\.7 Workers/],
    [{ maxStartedAttempts: -1 }, /maxStartedAttempts must be a whole number/],
    [42, /workerOptions must be an object/],
  ])('refuses a bad value: %j', (opts, message) => {
    expect(() => toWorkerOptions(opts, 'p')).toThrow(message);
  });

  it('is read from `export const workerOptions` and from the default object; a refusal fails the load', () => {
    const fn = async () => 1;
    expect(toProcessor({ default: fn, workerOptions: { limiter: { max: 1, duration: 10 } } }, 'f.mjs').workerOptions).toEqual({ limiter: { max: 1, duration: 10 } });
    expect(toProcessor({ handlers: { a: fn }, workerOptions: { removeOnFail: 5 } }, 'f.cjs').workerOptions).toEqual({ removeOnFail: 5 });
    expect(() => toProcessor({ default: fn, workerOptions: { concurrency: 2 } }, 'f.mjs')).toThrow(ProcessorLoadError);
    expect(() => toProcessor({ default: fn, workerOptions: { concurrency: 2 } }, 'f.mjs')).toThrow(/^processor f\.mjs: workerOptions\.concurrency/);
  });
});

describe('the processor calling convention', () => {
  it('calls every form as BullMQ does: (job, token, signal)', async () => {
    const seen: unknown[][] = [];
    const fn = async (...args: unknown[]) => void seen.push(args);
    const signal = new AbortController().signal;
    const job = { name: 'a', data: {} } as never;
    await toProcessor({ default: fn }, 'f.mjs').run(job, 'tok', signal);
    await toProcessor({ default: { handlers: { a: fn } } }, 'f.mjs').run(job, 'tok', signal);
    await toProcessor({ default: { jobs: [{ name: 'a', run: fn }] } }, 'f.mjs').run(job, 'tok', signal);
    expect(seen).toEqual([[job, 'tok', signal], [job, 'tok', signal], [job, 'tok', signal]]);
  });

  it('wants a signal only for a function declared with (job, token, signal), as BullMQ', () => {
    const three = async (_job: unknown, _token: unknown, _signal: unknown) => undefined;
    const one = async (_job: unknown) => undefined;
    expect(toProcessor({ default: three }, 'f.mjs').wantsSignal('any')).toBe(true);
    expect(toProcessor({ default: one }, 'f.mjs').wantsSignal('any')).toBe(false);
    const handlers = toProcessor({ default: { handlers: { a: three, b: one } } }, 'f.mjs');
    expect([handlers.wantsSignal('a'), handlers.wantsSignal('b'), handlers.wantsSignal('c')]).toEqual([true, false, false]);
    const jobs = toProcessor({ default: { jobs: [{ name: 'a', run: one }, { name: 'b', run: three }] } }, 'f.mjs');
    expect([jobs.wantsSignal('a'), jobs.wantsSignal('b')]).toEqual([false, true]);
  });

  it('takes a named init beside a default function', () => {
    const init = () => undefined;
    expect(toProcessor({ default: async () => 1, init }, 'f.mjs').init).toBe(init);
    expect(() => toProcessor({ default: async () => 1, init: 3 }, 'f.mjs')).toThrow(/"init" must be a function, got a number/);
  });
});

describe('the cancel channel', () => {
  it('is one channel per prefix, and reads back only well-formed requests', async () => {
    const { cancelChannel, decodeCancel, encodeCancel } = await import('../../src/redis/cancel-channel.js');
    expect(cancelChannel('{bull}')).toBe('{bull}:worker-pool:cancel');
    expect(decodeCancel(encodeCancel({ queue: 'q', id: '7', reason: 'why' }))).toEqual({ queue: 'q', id: '7', reason: 'why' });
    expect(decodeCancel(encodeCancel({ queue: 'q', id: '7' }))).toEqual({ queue: 'q', id: '7', reason: undefined });
    expect(decodeCancel('{"queue":"q","id":7}')).toBeUndefined();
    expect(decodeCancel('not json')).toBeUndefined();
  });
});

describe('workerOptions values the child\'s BullMQ Worker would choke on (issue 26.6)', () => {
  const telemetry = {
    tracer: { startSpan: () => ({}) },
    contextManager: { with: (_c: unknown, f: () => unknown) => f(), active: () => ({}), getMetadata: () => '', fromMetadata: () => ({}) },
  };

  it('takes a Telemetry object, metrics { maxDataPoints } and boolean skips', () => {
    const opts = { telemetry, metrics: { maxDataPoints: 10080 }, skipStalledCheck: true, skipVersionCheck: false, settings: { repeatKeyHashAlgorithm: 'sha256' } };
    expect(toWorkerOptions(opts, 'p')).toEqual(opts);
  });

  it.each([
    [{ telemetry: 'yes' }, /^p: workerOptions\.telemetry must be an object, got "yes"; give a Telemetry object such as new BullMQOtel/],
    [{ telemetry: {} }, /workerOptions\.telemetry needs a tracer with startSpan\(\), got \{\}/],
    [{ telemetry: { tracer: telemetry.tracer, contextManager: {} } }, /workerOptions\.telemetry needs a contextManager with with\(\), active\(\)/],
    [{ telemetry: { ...telemetry, meter: 1 } }, /workerOptions\.telemetry has a meter without createCounter\(\)/],
    [{ metrics: 'yes' }, /workerOptions\.metrics must be \{ maxDataPoints: N \} .* got "yes"/],
    [{ metrics: { maxDataPoints: 0 } }, /workerOptions\.metrics must be/],
    [{ metrics: { maxDatapoints: 5 } }, /workerOptions\.metrics must be/],
    [{ skipStalledCheck: 'no' }, /workerOptions\.skipStalledCheck must be true or false, got "no"/],
    [{ skipVersionCheck: 1 }, /workerOptions\.skipVersionCheck must be true or false, got 1/],
    [{ settings: { backoff: () => 1 } }, /workerOptions\.settings\.backoff is not a BullMQ Worker setting \(allowed: backoffStrategy, repeatStrategy, repeatKeyHashAlgorithm\)/],
    [{ settings: { repeatKeyHashAlgorithm: 5 } }, /settings\.repeatKeyHashAlgorithm must be a hash name/],
  ])('refuses %j in one line', (opts, message) => {
    expect(() => toWorkerOptions(opts, 'p')).toThrow(message);
    expect(() => toWorkerOptions(opts, 'p')).toThrow(WorkerOptionsError);
  });
});
