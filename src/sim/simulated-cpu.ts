/**
 * The simulated host's CPUs, read by the real PoolDemand as it reads a real host's (HostCpu.read:
 * the cores and their use): with `cores` set, a job's CPU share of its run time is stretched by how
 * crowded the cores are when it starts (the CPU the running jobs want ÷ the cores, which lose 2% of
 * their capacity for each process beyond one per core); without, CPU is never short.
 */
import type { CpuReading } from '../scaling/host-cpu.js';

/** Each process beyond one per core costs the cores this share of their capacity (context switches, caches). */
const SWITCH_COST = 0.02;

/** How a job runs: its run time, and the cores it uses and waits for meanwhile. */
export interface JobRun {
  runMs: number;
  /** Cores it keeps busy while it runs. */
  cpuRate: number;
  /** Cores' worth of time it spends runnable, waiting for a core (the run-queue wait). */
  waitRate: number;
}

export class SimulatedCpu {
  /** Cores the running jobs want (Σ of their CPU rates). */
  private wanted = 0;
  private processes = 0;
  /** Core-milliseconds used on the host so far, counted up to `countedTo`. */
  private usedMs = 0;
  private countedTo = 0;
  private lastRead: { at: number; usedMs: number } | undefined;

  constructor(
    /** The host's CPUs; undefined: as many as ever needed. */
    private readonly cores: number | undefined,
    private readonly now: () => number,
  ) {}

  /** A process (a child) started or ended: beyond one per core, they crowd the cores. */
  processStarted(): void {
    this.count();
    this.processes++;
  }

  processEnded(): void {
    this.count();
    this.processes--;
  }

  /** A job of `durationMs`, `cpuShare` of it on a CPU on an idle host, starts now. */
  startJob(durationMs: number, cpuShare: number): JobRun {
    if (this.cores === undefined || cpuShare <= 0) return { runMs: durationMs, cpuRate: 0, waitRate: 0 };
    this.count();
    // The CPU part runs slower when the cores are crowded: by (CPU wanted with this job) ÷ cores.
    const stretch = Math.max(1, (this.wanted + cpuShare) / this.effectiveCores());
    const cpuMs = durationMs * cpuShare;
    const runMs = durationMs - cpuMs + cpuMs * stretch;
    const run = { runMs, cpuRate: cpuMs / runMs, waitRate: (cpuMs * (stretch - 1)) / runMs };
    this.wanted += run.cpuRate;
    return run;
  }

  endJob(run: JobRun): void {
    if (run.cpuRate === 0) return;
    this.count();
    this.wanted = Math.max(0, this.wanted - run.cpuRate);
  }

  /** The cores and the share of them in use since the previous reading (null on the first), as HostCpu.read(). */
  read(): CpuReading {
    this.count();
    const now = this.now();
    const last = this.lastRead;
    this.lastRead = { at: now, usedMs: this.usedMs };
    const cores = this.cores ?? Infinity;
    if (!last || !(now > last.at)) return { cores, busy: null };
    return { cores, busy: this.cores === undefined ? 0 : Math.min(1, (this.usedMs - last.usedMs) / ((now - last.at) * this.cores)) };
  }

  private effectiveCores(): number {
    const cores = this.cores ?? Infinity;
    return cores * Math.max(0.1, 1 - SWITCH_COST * Math.max(0, this.processes - cores));
  }

  /** Count the cores used since the last change (cores lost to switching between processes are busy too). */
  private count(): void {
    const now = this.now();
    if (this.cores !== undefined && now > this.countedTo) this.usedMs += Math.min(1, this.wanted / this.effectiveCores()) * this.cores * (now - this.countedTo);
    this.countedTo = now;
  }
}
