/**
 * Issue 13, item 11, through the real command: check-config reports a YAML alias bomb as a config
 * error (78) and still checks the other files; `simulate` refuses a trace whose horizon would take
 * minutes and gigabytes, at once and in one line; a queue named "constructor" may have a
 * global-concurrency limit.
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/pool.js';
import { tempDir } from '../helpers/temp-files.js';

const { file } = tempDir('config-errors');

describe('config errors through the CLI', () => {
  it('check-config: an alias bomb is exit 78, and the next file is still checked', async () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g'].entries()) levels.push(`${name}: &${name} [${Array(10).fill(`*${'abcdef'[i]}`).join(',')}]`);
    const bomb = file('bomb.yml', levels.join('\n') + '\nqueues: *g\n');
    const good = file('good.yml', `processor: ${fixture('sleep.mjs')}\nqueues: [constructor]\nglobal-concurrency:\n  constructor: 1\n`);
    const r = await runCli(['check-config', bomb, good]);
    expect(r.code).toBe(78);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^error +.*bomb\.yml: config: .*bomb\.yml cannot be read as YAML: Excessive alias count/);
    expect(lines[1]).toMatch(/^ok +.*good\.yml: pool "good", queues constructor/);
    expect(r.stderr).toBe('');
  });

  it('simulate: an arrival at 1e8 s is refused at once with what to change', async () => {
    const trace = file('far.csv', 'arrival_seconds,duration_seconds\n0,1\n100000000,1\n');
    const started = Date.now();
    // Unbounded, it runs for minutes and takes gigabytes: stopped after 20 s, long before that.
    const r = await runCli(['simulate', '--trace', trace], { timeoutMs: 20_000 });
    console.log(`simulate with an arrival at 1e8 s: exit ${r.code} after ${Date.now() - started} ms`);
    expect(r.code).toBe(65);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/--trace: .*far\.csv" spans 100000001 s of simulated time, .* at most 1000000 steps are simulated/);
  });
});
