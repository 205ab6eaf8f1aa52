/**
 * Reading this process's cgroup limits in both forms from a tree of files made here (pure: no real
 * cgroup): v1 as podman shows it inside a container (a mount per controller whose root is the
 * container's own cgroup), v1 on a host (the path below the mount), v2 (one hierarchy, limits of the
 * cgroups above counted), no limit at all; and the CPU guard's quota and usage from either form.
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Cgroup, findCgroupDirs } from '../../src/scaling/cgroup.js';
import { HostCpu } from '../../src/scaling/host-cpu.js';

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'wp-cgroup-'));
  for (const [name, text] of Object.entries(files)) {
    const p = path.join(root, name);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, text);
  }
  return root;
}

const MiB = 1024 * 1024;

/** A v1 mountinfo: one hierarchy per controller, each mount starting at `root`. */
const v1Mounts = (root: string) =>
  [
    `25 24 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755`,
    `26 25 0:23 ${root} /sys/fs/cgroup/memory ro,nosuid - cgroup cgroup rw,memory`,
    `27 25 0:24 ${root} /sys/fs/cgroup/cpu,cpuacct ro,nosuid - cgroup cgroup rw,cpu,cpuacct`,
    `28 25 0:25 ${root} /sys/fs/cgroup/pids ro,nosuid - cgroup cgroup rw,pids`,
  ].join('\n') + '\n';

describe('cgroup limits', () => {
  it('v1 inside a container (podman --memory 64m --cpus 1): the mounts start at the container\'s cgroup', () => {
    const id = '/libpod_parent/libpod-3f2a';
    const root = tree({
      'proc/self/cgroup': `11:pids:${id}\n4:memory:${id}\n3:cpu,cpuacct:${id}\n1:name=systemd:${id}\n`,
      'proc/self/mountinfo': v1Mounts(id),
      'sys/fs/cgroup/memory/memory.limit_in_bytes': `${64 * MiB}\n`,
      'sys/fs/cgroup/memory/memory.stat': `cache 0\nrss 1000\nhierarchical_memory_limit ${64 * MiB}\n`,
      'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '100000\n',
      'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
      'sys/fs/cgroup/cpu,cpuacct/cpuacct.usage': '2500000000\n',
    });
    const cg = Cgroup.ofProcess(root);
    expect(cg.dirs.memory).toEqual({ version: 1, dir: '/sys/fs/cgroup/memory', mountpoint: '/sys/fs/cgroup/memory' });
    expect(cg.memoryLimitBytes()).toBe(64 * MiB);
    expect(cg.cpuQuotaCores()).toBe(1);
    expect(cg.cpuUsageUs()).toBe(2_500_000);
  });

  it('v1 on a host: the cgroup below the mount; the tightest limit above it counts (hierarchical_memory_limit)', () => {
    const root = tree({
      'proc/self/cgroup': '4:memory:/jobs/pool-a\n3:cpu,cpuacct:/jobs/pool-a\n0::/\n',
      'proc/self/mountinfo': v1Mounts('/'),
      'sys/fs/cgroup/memory/jobs/pool-a/memory.limit_in_bytes': '9223372036854771712\n',
      'sys/fs/cgroup/memory/jobs/pool-a/memory.stat': `cache 0\nhierarchical_memory_limit ${512 * MiB}\n`,
      'sys/fs/cgroup/cpu,cpuacct/jobs/pool-a/cpu.cfs_quota_us': '-1\n',
      'sys/fs/cgroup/cpu,cpuacct/jobs/pool-a/cpu.cfs_period_us': '100000\n',
    });
    const cg = Cgroup.ofProcess(root);
    expect(cg.dirs.memory?.dir).toBe('/sys/fs/cgroup/memory/jobs/pool-a');
    expect(cg.memoryLimitBytes()).toBe(512 * MiB);
    expect(cg.cpuQuotaCores()).toBeUndefined(); // -1: no quota
  });

  it('v1 without memory.stat: memory.limit_in_bytes; the v1 "unlimited" value is no limit', () => {
    const root = tree({
      'proc/self/cgroup': '4:memory:/a\n',
      'proc/self/mountinfo': v1Mounts('/'),
      'sys/fs/cgroup/memory/a/memory.limit_in_bytes': `${300 * MiB}\n`,
    });
    expect(Cgroup.ofProcess(root).memoryLimitBytes()).toBe(300 * MiB);
    const free = tree({
      'proc/self/cgroup': '4:memory:/a\n',
      'proc/self/mountinfo': v1Mounts('/'),
      'sys/fs/cgroup/memory/a/memory.limit_in_bytes': '9223372036854771712\n',
    });
    expect(Cgroup.ofProcess(free).memoryLimitBytes()).toBeUndefined();
  });

  it('v2: memory.max of the cgroup or of one above it (the tightest), cpu.max and cpu.stat', () => {
    const root = tree({
      'proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      'proc/self/mountinfo': '30 22 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n',
      'sys/fs/cgroup/kubepods/pod1/ctr/cgroup.controllers': 'cpuset cpu io memory pids\n',
      'sys/fs/cgroup/kubepods/pod1/ctr/memory.max': 'max\n',
      'sys/fs/cgroup/kubepods/pod1/memory.max': `${1024 * MiB}\n`,
      'sys/fs/cgroup/kubepods/memory.max': `${4096 * MiB}\n`,
      'sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '150000 100000\n',
      'sys/fs/cgroup/kubepods/pod1/ctr/cpu.stat': 'usage_usec 1234\nuser_usec 1000\n',
    });
    const cg = Cgroup.ofProcess(root);
    expect(cg.dirs.memory).toEqual({ version: 2, dir: '/sys/fs/cgroup/kubepods/pod1/ctr', mountpoint: '/sys/fs/cgroup' });
    expect(cg.memoryLimitBytes()).toBe(1024 * MiB);
    expect(cg.cpuQuotaCores()).toBe(1.5);
    expect(cg.cpuUsageUs()).toBe(1234);
  });

  it('v2 inside a container with its own cgroup namespace ("0::/"), no limit: none', () => {
    const root = tree({
      'proc/self/cgroup': '0::/\n',
      'proc/self/mountinfo': '30 22 0:26 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw\n',
      'sys/fs/cgroup/cgroup.controllers': 'cpu memory pids\n',
      'sys/fs/cgroup/cpu.max': 'max 100000\n',
    });
    const cg = Cgroup.ofProcess(root);
    expect(cg.memoryLimitBytes()).toBeUndefined();
    expect(cg.cpuQuotaCores()).toBeUndefined();
  });

  it('hybrid (v1 controllers, an empty v2 hierarchy beside them): the v1 files are read', () => {
    const dirs = findCgroupDirs(
      '4:memory:/process_api/x\n1:cpu:/\n2:cpuacct:/\n0::/\n',
      [
        '31 30 0:28 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu',
        '32 30 0:29 / /sys/fs/cgroup/cpuacct rw - cgroup cgroup rw,cpuacct',
        '34 30 0:31 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory',
        '40 30 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw',
      ].join('\n'),
      () => false,
    );
    expect(dirs).toEqual({
      memory: { version: 1, dir: '/sys/fs/cgroup/memory/process_api/x', mountpoint: '/sys/fs/cgroup/memory' },
      cpu: { version: 1, dir: '/sys/fs/cgroup/cpu', mountpoint: '/sys/fs/cgroup/cpu' },
      cpuacct: { version: 1, dir: '/sys/fs/cgroup/cpuacct', mountpoint: '/sys/fs/cgroup/cpuacct' },
    });
  });

  it('the CPU guard reads a v1 quota and v1 usage: 1 CPU, 0.5 s used in 1 s is half of it', () => {
    const id = '/libpod_parent/libpod-1';
    const files = {
      'proc/self/cgroup': `3:cpu,cpuacct:${id}\n`,
      'proc/self/mountinfo': v1Mounts(id),
      'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us': '100000\n',
      'sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us': '100000\n',
      'sys/fs/cgroup/cpu,cpuacct/cpuacct.usage': '1000000000\n',
    };
    const root = tree(files);
    let now = 0;
    const cpu = new HostCpu({ cgroup: Cgroup.ofProcess(root), procStat: path.join(root, 'none'), now: () => now });
    expect(cpu.read()).toEqual({ cores: 1, busy: null });
    now = 1000;
    writeFileSync(path.join(root, 'sys/fs/cgroup/cpu,cpuacct/cpuacct.usage'), '1500000000\n');
    expect(cpu.read().busy).toBeCloseTo(0.5, 9);
  });
});
