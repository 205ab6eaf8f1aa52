import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/schema.js';
import { isChildMessage } from '../../src/ipc/messages.js';
import { HostCpu, schedTimes } from '../../src/scaling/host-cpu.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'wp-hostcpu-'));
const write = (name: string, text: string) => {
  const p = path.join(dir, name);
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, text);
  return p;
};

describe('HostCpu', () => {
  it('with a cgroup quota: the quota is the capacity, the cgroup usage the use', () => {
    write('cg/cpu.max', '150000 100000\n');
    write('cg/cpu.stat', 'usage_usec 1000000\nuser_usec 800000\nsystem_usec 200000\n');
    let now = 0;
    const cpu = new HostCpu({ cgroupDir: path.join(dir, 'cg'), procStat: path.join(dir, 'none'), now: () => now });
    const cores = Math.min(1.5, os.availableParallelism());
    expect(cpu.read()).toEqual({ cores, busy: null });
    now = 1000; // 1 s later the cgroup used 0.75 s of CPU: half of 1.5 cores.
    write('cg/cpu.stat', 'usage_usec 1750000\n');
    const r = cpu.read();
    expect(r.cores).toBe(cores);
    expect(r.busy).toBeCloseTo(0.75 / cores, 9);
  });

  it('without a quota: /proc/stat busy ÷ total jiffies, iowait counted as idle', () => {
    write('cg2/cpu.max', 'max 100000\n');
    const stat = (user: number, idle: number, iowait: number) => `cpu  ${user} 0 0 ${idle} ${iowait} 0 0 0 0 0\ncpu0 1 2 3 4\n`;
    write('stat', stat(100, 100, 0));
    const cpu = new HostCpu({ cgroupDir: path.join(dir, 'cg2'), procStat: path.join(dir, 'stat') });
    expect(cpu.read().busy).toBeNull();
    write('stat', stat(190, 110, 0)); // +90 busy of +100
    expect(cpu.read().busy).toBeCloseTo(0.9, 9);
    write('stat', stat(200, 150, 50)); // +10 busy of +100
    expect(cpu.read().busy).toBeCloseTo(0.1, 9);
  });

  it('where neither is readable, os.cpus() times give a reading in [0, 1]', () => {
    const cpu = new HostCpu({ cgroupDir: path.join(dir, 'nothing'), procStat: path.join(dir, 'nothing') });
    expect(cpu.read()).toEqual({ cores: os.availableParallelism(), busy: null });
    // Let the counters move (they tick every 10 ms): 50 ms of this process on a CPU.
    const until = performance.now() + 50;
    while (performance.now() < until);
    const busy = cpu.read().busy;
    expect(busy).not.toBeNull();
    expect(busy!).toBeGreaterThan(0);
    expect(busy!).toBeLessThanOrEqual(1);
  });

  it('reads this process\'s run and run-queue wait times from /proc/PID/schedstat', () => {
    const t = schedTimes(process.pid);
    expect(t, '/proc/self/schedstat must be readable on this machine (the guard uses it)').toBeDefined();
    expect(t!.runMs).toBeGreaterThan(0);
    expect(t!.waitMs).toBeGreaterThanOrEqual(0);
    expect(schedTimes(process.pid, path.join(dir, 'no-proc'))).toBeUndefined();
  });
});

describe('options of the guard and the latency policy', () => {
  it('cpu-guard is on by default and turned off by flag, variable or file', () => {
    expect(loadConfig({ env: {}, flags: {} }).cpuGuard).toBe(true);
    expect(loadConfig({ env: {}, flags: { 'cpu-guard': false } }).cpuGuard).toBe(false);
    expect(loadConfig({ env: { WORKER_POOL_CPU_GUARD: 'false' }, flags: {} }).cpuGuard).toBe(false);
    const f = write('pool.yml', 'cpu-guard: false\npolicy: latency\ntarget-wait: 1.5\n');
    const c = loadConfig({ env: {}, flags: { config: f } });
    expect(c).toMatchObject({ cpuGuard: false, policy: 'latency', targetWait: 1.5 });
  });

  it('refuses a bad target-wait or policy with one line naming the key', () => {
    expect(() => loadConfig({ env: {}, flags: { 'target-wait': '0' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: {}, flags: { 'target-wait': '0' } })).toThrow(/--target-wait: "0" is not allowed; expected a number of seconds > 0/);
    expect(() => loadConfig({ env: { WORKER_POOL_POLICY: 'fastest' }, flags: {} })).toThrow(/WORKER_POOL_POLICY: "fastest" is not allowed; expected one of threshold, adaptive, latency/);
    expect(() => loadConfig({ env: { WORKER_POOL_CPU_GUARD: 'maybe' }, flags: {} })).toThrow(/WORKER_POOL_CPU_GUARD: "maybe" is not allowed; expected true or false/);
  });

  it('a sample may carry the child\'s CPU time; a malformed one is refused', () => {
    const sample = { type: 'sample', at: 1, busyMs: 0, busySlots: 0, processed: 0, failed: 0, rssBytes: 1 };
    expect(isChildMessage(sample)).toBe(true);
    expect(isChildMessage({ ...sample, cpu: { user: 10, system: 2 } })).toBe(true);
    expect(isChildMessage({ ...sample, cpu: { user: 'x', system: 2 } })).toBe(false);
    expect(isChildMessage({ ...sample, cpu: 5 })).toBe(false);
  });
});
