/**
 * HostCpu: how many CPUs this daemon may use and how much of them was in use since the last
 * reading, for the CPU-saturation guard. Inside a cgroup with a CPU quota (v2 `cpu.max`, v1
 * `cpu.cfs_quota_us`: a container's --cpus), the quota is the capacity and the cgroup's own usage
 * (v2 `cpu.stat`, v1 `cpuacct.usage`) is the use; otherwise the host's cores and
 * `/proc/stat` (all processes on the host); where neither is readable, `os.cpus()` times. Also how
 * long a process waited, runnable, for a CPU (`/proc/PID/schedstat`): what tells a CPU-bound job on a
 * crowded host (waiting for a core) from an I/O-bound one (sleeping).
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { Cgroup } from './cgroup.js';

export interface CpuReading {
  /** CPUs available (a fraction with a quota, e.g. 1.5). */
  cores: number;
  /** Share of them in use since the previous reading, in [0, 1]; null on the first reading. */
  busy: number | null;
}

export interface HostCpuOptions {
  /** This process's cgroups (default: found from /proc/self). */
  cgroup?: Cgroup;
  /** Or a cgroup v2 directory to read `cpu.max` and `cpu.stat` from. */
  cgroupDir?: string;
  procStat?: string;
  /** Monotonic ms. */
  now?: () => number;
}

type Counter = { kind: 'cgroup'; usageUs: number } | { kind: 'stat'; busy: number; total: number };

export class HostCpu {
  private readonly cgroup: Cgroup;
  private readonly procStat: string;
  private readonly now: () => number;
  private last: { at: number; counter: Counter } | undefined;

  constructor(opts: HostCpuOptions = {}) {
    const v2 = (dir: string) => ({ version: 2 as const, dir, mountpoint: dir });
    this.cgroup = opts.cgroup ?? (opts.cgroupDir !== undefined ? new Cgroup({ cpu: v2(opts.cgroupDir), cpuacct: v2(opts.cgroupDir) }) : Cgroup.ofProcess());
    this.procStat = opts.procStat ?? '/proc/stat';
    this.now = opts.now ?? (() => performance.now());
  }

  /** Read the counters now; `busy` covers the time since the previous call. */
  read(): CpuReading {
    const at = this.now();
    const quota = this.quotaCores();
    const cores = Math.max(0.01, Math.min(quota ?? Infinity, os.availableParallelism()));
    const counter = quota !== undefined ? this.cgroupCounter() ?? this.statCounter() : this.statCounter();
    const prev = this.last;
    this.last = { at, counter };
    if (!prev || prev.counter.kind !== counter.kind) return { cores, busy: null };
    if (counter.kind === 'cgroup' && prev.counter.kind === 'cgroup') {
      const spanUs = (at - prev.at) * 1000;
      if (!(spanUs > 0)) return { cores, busy: null };
      return { cores, busy: clamp((counter.usageUs - prev.counter.usageUs) / (spanUs * cores)) };
    }
    if (counter.kind === 'stat' && prev.counter.kind === 'stat') {
      const total = counter.total - prev.counter.total;
      if (!(total > 0)) return { cores, busy: null };
      return { cores, busy: clamp((counter.busy - prev.counter.busy) / total) };
    }
    return { cores, busy: null };
  }

  /** The cgroup's CPU quota as cores; undefined when there is no quota. */
  private quotaCores(): number | undefined {
    return this.cgroup.cpuQuotaCores();
  }

  private cgroupCounter(): Counter | undefined {
    const usageUs = this.cgroup.cpuUsageUs();
    return usageUs !== undefined ? { kind: 'cgroup', usageUs } : undefined;
  }

  /** Busy and total jiffies of all CPUs from /proc/stat, else from os.cpus() (ms). */
  private statCounter(): Counter {
    const text = readOrUndefined(this.procStat);
    const line = text?.split('\n').find((l) => l.startsWith('cpu '));
    if (line) {
      // user nice system idle iowait irq softirq steal (guest time is already in user)
      const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
      if (f.length >= 4 && f.every((x) => Number.isFinite(x))) {
        const idle = f[3]! + (f[4] ?? 0);
        const total = f.reduce((a, b) => a + b, 0);
        return { kind: 'stat', busy: total - idle, total };
      }
    }
    let busy = 0;
    let total = 0;
    for (const cpu of os.cpus()) {
      const t = cpu.times;
      busy += t.user + t.nice + t.sys + t.irq;
      total += t.user + t.nice + t.sys + t.irq + t.idle;
    }
    return { kind: 'stat', busy, total };
  }
}

/**
 * Time a process spent on a CPU and waiting runnable for one, since it started (ms), from
 * /proc/PID/schedstat ("RUN_NS WAIT_NS SLICES"); undefined where the kernel does not report it.
 */
export function schedTimes(pid: number, procDir = '/proc'): { runMs: number; waitMs: number } | undefined {
  const text = readOrUndefined(`${procDir}/${pid}/schedstat`);
  const f = text?.trim().split(/\s+/).map(Number);
  if (!f || f.length < 2 || !Number.isFinite(f[0]) || !Number.isFinite(f[1])) return undefined;
  return { runMs: f[0]! / 1e6, waitMs: f[1]! / 1e6 };
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function clamp(x: number): number {
  return Math.min(1, Math.max(0, x));
}
