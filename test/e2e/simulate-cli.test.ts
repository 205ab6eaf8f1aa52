/** `worker-pool simulate` as a user runs it: text, --json, --plot, CSV traces, and bad input. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'wp-sim-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function run(...args: string[]) {
  return runCli(['simulate', ...args], { timeoutMs: 30_000 });
}

describe('worker-pool simulate', async () => {
  it('simulates a CSV trace and prints JSON with the hand-computed answer', async () => {
    const csv = path.join(dir, 'three.csv');
    writeFileSync(csv, 'arrival_seconds,duration_seconds,queue\n0,1,default\n0,1,default\n0.5,2,default\n');
    const r = await run('--trace', csv, '--max-workers', '1', '--json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ trace: csv, policy: 'threshold', jobs: 3, finished: 3, scaleEvents: 0 });
    expect(out.wait.max).toBeCloseTo(1.75, 9);
    expect(out.workerSeconds).toBeCloseTo(4.25, 9);
  });

  it('runs a built-in trace with the adaptive policy, prints a summary and writes an SVG plot', async () => {
    const svg = path.join(dir, 'spike.svg');
    const r = await run('--trace', 'spike', '--policy', 'adaptive', '--max-workers', '10', '--plot', svg);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/trace spike: 500 jobs/);
    expect(r.stdout).toMatch(/policy adaptive; min 1, max 10/);
    expect(r.stdout).toMatch(/wait p50\/p95\/p99 +[\d.]+ \/ [\d.]+ \/ [\d.]+ s/);
    const text = readFileSync(svg, 'utf8');
    expect(text.startsWith('<svg')).toBe(true);
    expect(text).toContain('stroke="#1f5fbf"');
  });

  it('accepts --min-workers 0 and refuses bad input with one line and a defined exit code', async () => {
    expect((await run('--trace', 'rq-demo', '--min-workers', '0', '--json')).code).toBe(0);
    const unknown = await run('--trace', 'nope');
    expect(unknown.code).toBe(64);
    expect(unknown.stderr.trim()).toBe('worker-pool: --trace: "nope" is neither a built-in trace (rq-demo, step, ramp, spike, diurnal, heavy-tail, burst-storm, slow-wave, bimodal, long-job, workday, cpu-bound) nor a CSV file');
    const bad = path.join(dir, 'bad.csv');
    writeFileSync(bad, 'arrival_seconds,duration_seconds\n1,abc\n');
    const badCsv = await run('--trace', bad);
    expect(badCsv.code).toBe(65);
    expect(badCsv.stderr.trim()).toBe(`worker-pool: ${bad} line 2: duration_seconds "abc" is not a number ≥ 0`);
    const badPolicy = await run('--trace', 'rq-demo', '--policy', 'magic');
    expect(badPolicy.code).toBe(78);
    expect(badPolicy.stderr.trim()).toBe('worker-pool: --policy: "magic" is not allowed; expected one of threshold, adaptive, latency');
    const negative = await run('--trace', 'rq-demo', '--min-workers', '-1');
    expect(negative.code).toBe(78);
    expect(negative.stderr).toMatch(/--min-workers: "-1" is not allowed; expected a whole number ≥ 0/);
  });
});
