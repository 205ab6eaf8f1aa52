import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';

describe('the global-concurrency option', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'wp-gc-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('is empty by default', () => {
    expect(loadConfig({ env: {} }).globalConcurrency).toEqual({});
  });

  it('reads QUEUE=N lists from flags and the environment, and a mapping from the file', () => {
    expect(loadConfig({ flags: { queues: 'a,b', 'global-concurrency': 'a=1, b=3' }, env: {} }).globalConcurrency).toEqual({ a: 1, b: 3 });
    expect(loadConfig({ flags: { queues: 'a' }, env: { WORKER_POOL_GLOBAL_CONCURRENCY: 'a=2' } }).globalConcurrency).toEqual({ a: 2 });
    const file = path.join(dir, 'serial.yml');
    writeFileSync(file, 'queues: [orchestrator]\nglobal-concurrency:\n  orchestrator: 1\n');
    expect(loadConfig({ flags: { config: file }, env: {} }).globalConcurrency).toEqual({ orchestrator: 1 });
  });

  it('refuses bad limits with one line naming the key and what is allowed', () => {
    const bad = (value: unknown) => () => loadConfig({ flags: { queues: 'a', 'global-concurrency': value }, env: {} });
    for (const value of ['a=0', 'a=1.5', 'a', '=1', 'a=1,a=2', 'a=x']) {
      expect(bad(value), value).toThrow(/^--global-concurrency: .* is not allowed; expected queue names with a whole number ≥ 1 each/);
    }
    const file = path.join(dir, 'list.yml');
    writeFileSync(file, 'queues: [a]\nglobal-concurrency: [a]\n');
    expect(() => loadConfig({ flags: { config: file }, env: {} })).toThrow(/^global-concurrency in .*list\.yml: \["a"\] is not allowed/);
  });

  it('refuses a limit on a queue the pool does not listen to', () => {
    expect(() => loadConfig({ flags: { queues: 'a,b', 'global-concurrency': 'c=1' }, env: {} })).toThrow(
      'global-concurrency: queue "c" is not allowed; it must be one of this pool\'s queues (a, b)',
    );
  });
});
