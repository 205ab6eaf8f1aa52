/**
 * This process's cgroup and the limits it sets, in either form: v1, a hierarchy per controller
 * (`memory/memory.limit_in_bytes`, `cpu/cpu.cfs_quota_us`, `cpuacct/cpuacct.usage`: what podman and
 * Docker show inside a container on a v1 or hybrid host) and v2, one unified hierarchy (`memory.max`,
 * `cpu.max`, `cpu.stat`). The cgroup is found from /proc/self/cgroup and the mounts of
 * /proc/self/mountinfo (a container's mount may start deeper than the path it names); every file is
 * read under `root`, so tests give a tree of their own.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export type Controller = 'memory' | 'cpu' | 'cpuacct';

/** Where one controller's files are for this process. */
export interface CgroupDir {
  version: 1 | 2;
  /** The cgroup's directory (absolute, before `root`). */
  dir: string;
  /** Where its hierarchy is mounted: the top of the walk up for inherited limits. */
  mountpoint: string;
}

export type CgroupDirs = Partial<Record<Controller, CgroupDir>>;

/** Values at or above this are "no limit" (v1 writes 2^63 rounded down to a page). */
const UNLIMITED = 2 ** 62;

interface Mount {
  root: string;
  mountpoint: string;
  fstype: string;
  superOptions: string[];
}

/** The cgroup mounts of a mountinfo text (fields: id parent dev root mountpoint opts [optional…] - fstype source superopts). */
function cgroupMounts(mountinfo: string): Mount[] {
  const out: Mount[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const f = left.split(' ');
    const [fstype, , superOpts] = right.split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    out.push({ root: unescape(f[3] ?? '/'), mountpoint: unescape(f[4] ?? ''), fstype, superOptions: (superOpts ?? '').split(',') });
  }
  return out;
}

/** mountinfo escapes spaces and the like as \040. */
function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** A cgroup path seen through a mount whose root is `root`, at `mountpoint`. */
function under(mount: Mount, cgroupPath: string): string {
  const rel = mount.root === '/' ? cgroupPath : cgroupPath === mount.root || cgroupPath.startsWith(mount.root + '/') ? cgroupPath.slice(mount.root.length) : '/';
  const dir = path.posix.join(mount.mountpoint, rel);
  return dir.length > 1 && dir.endsWith('/') ? dir.slice(0, -1) : dir;
}

/**
 * Each controller's directory, from /proc/self/cgroup (`ID:controllers:path` lines; v2 is `0::path`)
 * and /proc/self/mountinfo. A controller with a v1 hierarchy of its own is read there; otherwise from
 * the v2 hierarchy, when it has that controller.
 */
export function findCgroupDirs(procSelfCgroup: string, mountinfo: string, hasV2Controller: (dir: string, c: Controller) => boolean = () => true): CgroupDirs {
  const mounts = cgroupMounts(mountinfo);
  const out: CgroupDirs = {};
  let v2Path: string | undefined;
  for (const line of procSelfCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, id, list, p] = m as unknown as [string, string, string, string];
    if (id === '0' && list === '') {
      v2Path = p;
      continue;
    }
    for (const c of list.split(',') as Controller[]) {
      if (c !== 'memory' && c !== 'cpu' && c !== 'cpuacct') continue;
      const mount = mounts.find((x) => x.fstype === 'cgroup' && x.superOptions.includes(c));
      if (mount) out[c] = { version: 1, dir: under(mount, p), mountpoint: mount.mountpoint };
    }
  }
  const v2 = mounts.find((x) => x.fstype === 'cgroup2');
  if (v2Path !== undefined && v2) {
    const dir = under(v2, v2Path);
    // cpuacct has no v2 controller of its own: usage is in cpu.stat, which every v2 cgroup has.
    for (const c of ['memory', 'cpu', 'cpuacct'] as const) {
      if (!out[c] && hasV2Controller(dir, c === 'cpuacct' ? 'cpu' : c)) out[c] = { version: 2, dir, mountpoint: v2.mountpoint };
    }
  }
  return out;
}

/** The limits and CPU use of one process's cgroups, read fresh at each call. */
export class Cgroup {
  constructor(
    readonly dirs: CgroupDirs,
    /** Prefix of every path read ('' in production). */
    private readonly root = '',
  ) {}

  /** This process's cgroups, found under `root` ('' : the real /proc and /sys). */
  static ofProcess(root = ''): Cgroup {
    const read = (p: string) => readOrUndefined(root + p) ?? '';
    const controllers = (dir: string, c: Controller) => (readOrUndefined(`${root}${dir}/cgroup.controllers`) ?? '').split(/\s+/).includes(c);
    return new Cgroup(findCgroupDirs(read('/proc/self/cgroup'), read('/proc/self/mountinfo'), controllers), root);
  }

  /** The memory limit in bytes (the tightest of this cgroup and those above it); undefined when none. */
  memoryLimitBytes(): number | undefined {
    const m = this.dirs.memory;
    if (!m) return undefined;
    if (m.version === 1) {
      // hierarchical_memory_limit is already the tightest limit on the way up.
      const stat = this.read(m.dir, 'memory.stat');
      const h = stat ? /^hierarchical_memory_limit (\d+)$/m.exec(stat) : null;
      return limit(h ? Number(h[1]) : Number(this.read(m.dir, 'memory.limit_in_bytes')?.trim()));
    }
    let best: number | undefined;
    for (const dir of this.upTo(m)) {
      const v = limit(Number(this.read(dir, 'memory.max')?.trim()));
      if (v !== undefined) best = Math.min(best ?? Infinity, v);
    }
    return best;
  }

  /** The CPU quota in CPUs (e.g. 1.5); undefined when none. */
  cpuQuotaCores(): number | undefined {
    const c = this.dirs.cpu;
    if (!c) return undefined;
    if (c.version === 1) {
      const q = Number(this.read(c.dir, 'cpu.cfs_quota_us')?.trim());
      const p = Number(this.read(c.dir, 'cpu.cfs_period_us')?.trim());
      return q > 0 && p > 0 ? q / p : undefined;
    }
    const [quota, period] = (this.read(c.dir, 'cpu.max') ?? '').trim().split(/\s+/);
    const q = Number(quota);
    const p = Number(period);
    return quota !== 'max' && q > 0 && p > 0 ? q / p : undefined;
  }

  /** CPU time used by the cgroup since it began (µs); undefined where unreadable. */
  cpuUsageUs(): number | undefined {
    const c = this.dirs.cpuacct;
    if (!c) return undefined;
    if (c.version === 1) {
      const ns = Number(this.read(c.dir, 'cpuacct.usage')?.trim());
      return Number.isFinite(ns) && ns >= 0 ? ns / 1000 : undefined;
    }
    const m = /^usage_usec (\d+)$/m.exec(this.read(c.dir, 'cpu.stat') ?? '');
    return m ? Number(m[1]) : undefined;
  }

  private read(dir: string, file: string): string | undefined {
    return readOrUndefined(`${this.root}${dir}/${file}`);
  }

  /** The cgroup's directory and each one above it, up to its hierarchy's mount. */
  private *upTo(d: CgroupDir): Generator<string> {
    let dir = d.dir;
    for (;;) {
      yield dir;
      if (dir === d.mountpoint || !dir.startsWith(d.mountpoint + '/')) return;
      dir = path.posix.dirname(dir);
    }
  }
}

function limit(n: number): number | undefined {
  return Number.isFinite(n) && n > 0 && n < UNLIMITED ? n : undefined;
}

function readOrUndefined(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}
