/**
 * Issue 27.8, through the real command: errors say where. A processor with a syntax error names its
 * FILE:LINE:COLUMN (ES module and CommonJS), a misspelt config key gets a "did you mean" and its
 * line, broken YAML its line, and a misspelt WORKER_POOL_* variable a "did you mean".
 */
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { fixture } from '../helpers/pool.js';
import { tempDir } from '../helpers/temp-files.js';

// Removed with the test file's TMPDIR (temp-root.ts).
const { file } = tempDir('error-places');

describe('errors that say where', () => {
  it('a processor with a syntax error: check-config and start name FILE:LINE:COLUMN', async () => {
    const esm = file('broken.mjs', 'export default async function (job) {\n  const x = ;\n  return x;\n}\n');
    const cjs = file('broken.cjs', 'module.exports = async function (job) {\n  return {;\n};\n');
    const check = await runCli(['check-config', file('esm.yml', `processor: ${esm}\n`), file('cjs.yml', `processor: ${cjs}\n`)]);
    expect(check.code).toBe(78);
    const [first, second] = check.stdout.trim().split('\n');
    expect(first).toContain(`SyntaxError: Unexpected token ';' (at ${esm}:2:13)`);
    expect(second).toContain(`SyntaxError: Unexpected token ';' (at ${cjs}:2:11)`);
    const start = await runCli(['--processor', esm, '--metrics-port', '0']);
    expect(start.code).toBe(78);
    expect(start.stderr.trim().split('\n')).toHaveLength(1);
    expect(start.stderr).toContain(`(at ${esm}:2:13)`);
  });

  it('a syntax error in a module the processor imports says so', async () => {
    file('dep.mjs', 'export const y = ;\n');
    const main = file('main.mjs', "import { y } from './dep.mjs';\nexport default async () => y;\n");
    const r = await runCli(['check-config', file('dep.yml', `processor: ${main}\n`)]);
    expect(r.stdout).toContain('(in a module it imports; the file itself parses)');
  });

  it('a misspelt key in a config file: did you mean, and its line', async () => {
    const r = await runCli(['check-config', file('typo.yml', `processor: ${fixture('sleep.mjs')}\nmin-workers: 1\nmax-worker: 3\n`)]);
    expect(r.code).toBe(78);
    expect(r.stdout.trim()).toMatch(/max-worker in .*typo\.yml line 3: unknown key; did you mean max-workers\?/);
  });

  it('broken YAML: its line and column', async () => {
    const r = await runCli(['check-config', file('broken.yml', 'min-workers: 2\nqueues: [a, b\nmax-workers: 3\n')]);
    expect(r.code).toBe(78);
    expect(r.stdout.trim()).toMatch(/broken\.yml line \d+ column \d+ is not valid YAML: /);
  });

  it('a misspelt WORKER_POOL_* variable: did you mean', async () => {
    const r = await runCli(['--processor', fixture('sleep.mjs')], { env: { WORKER_POOL_MIN_WORKER: '2' } });
    expect(r.code).toBe(78);
    expect(r.stderr.trim()).toBe('worker-pool: WORKER_POOL_MIN_WORKER: unknown variable; did you mean WORKER_POOL_MIN_WORKERS?');
  });
});
