/**
 * The pool under a real memory limit: a memory cgroup made here (below this process's own, v1 or
 * v2, whichever the machine has) with a limit far below what max-workers would use; the CLI is
 * exec'ed inside it, finds the limit itself (from /proc/self/cgroup), and runs a processor whose
 * workers each hold 80 MiB under a load that wants every worker it can get. The pool stops adding
 * workers below the limit, the decision says memory held it, and nothing is OOM-killed (the
 * cgroup's own OOM count, and no worker died by SIGKILL). About 30 s.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cgroup } from '../../src/scaling/cgroup.js';
import { BIN, CliProcess, type LogLine } from '../helpers/cli.js';
import { fixture } from '../helpers/pool.js';
import { deletePrefix, queue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const MiB = 1024 * 1024;
const LIMIT_MB = 640;
const MAX_WORKERS = 8;

interface TestCgroup {
  dir: string;
  version: 1 | 2;
  /** OOM kills inside it so far. */
  oomKills(): number;
  /** The most it ever held (v1), or what it holds now (v2), in MiB. */
  peakMb(): number;
  remove(): void;
}

/** A memory cgroup below this process's own, limited to `limitMb`. Throws (the test fails) where none can be made. */
function makeMemoryCgroup(limitMb: number): TestCgroup {
  const own = Cgroup.ofProcess().dirs.memory;
  if (!own) throw new Error('no memory cgroup controller found for this process (/proc/self/cgroup, mountinfo): this test needs one');
  const dir = path.join(own.dir, `wp-test-${randomBytes(4).toString('hex')}`);
  if (own.version === 2) {
    // The parent must hand the memory controller down (possible only where it holds no process itself).
    const ctl = path.join(own.dir, 'cgroup.subtree_control');
    if (!readFileSync(ctl, 'utf8').split(/\s+/).includes('memory')) writeFileSync(ctl, '+memory');
  }
  mkdirSync(dir);
  writeFileSync(path.join(dir, own.version === 1 ? 'memory.limit_in_bytes' : 'memory.max'), String(limitMb * MiB));
  const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
  return {
    dir,
    version: own.version,
    oomKills: () => Number(/^oom_kill (\d+)$/m.exec(read(own.version === 1 ? 'memory.oom_control' : 'memory.events'))?.[1] ?? 0),
    peakMb: () => Number(read(own.version === 1 ? 'memory.max_usage_in_bytes' : 'memory.current')) / MiB,
    remove: () => {
      if (existsSync(dir)) rmdirSync(dir);
    },
  };
}

let cg: TestCgroup;
beforeAll(() => {
  cg = makeMemoryCgroup(LIMIT_MB);
});
afterAll(() => cg?.remove());

describe('memory limit of the cgroup', () => {
  it(`stops adding workers below a ${LIMIT_MB} MiB limit with a load that wants ${MAX_WORKERS}; the decision names memory; nothing is OOM-killed`, async () => {
    const prefix = uniquePrefix('memlimit');
    const q = queue('mem', prefix);
    await q.addBulk(Array.from({ length: 40 }, (_, i) => ({ name: 'hold', data: { mb: 80, ms: 60_000 }, opts: { jobId: `j${i}` } })));
    const args = [
      '--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'mem', '--processor', fixture('hold-memory.mjs'),
      '--min-workers', '1', '--max-workers', String(MAX_WORKERS), '--scaling-period', '1', '--window', '2',
      '--no-cpu-guard', '--stop-timeout', '3', '--metrics-port', '0', '--log-format', 'json', '--log-level', 'debug',
    ];
    // The daemon moves itself into the cgroup before it starts: every worker it forks is in it too.
    const p = new CliProcess(args, { command: ['sh', '-c', 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', 'sh', cg.dir, process.execPath, BIN] });
    const decisions = () => p.logs.filter((l) => l.msg === 'scale decision');
    try {
      const held = await p.waitForLog((l) => l.msg === 'scale decision' && /memory guard held the step/.test(String(l['reason'])), 90_000);
      // One period more: it holds again, where the load still wants more.
      const later = await p.waitForLog((l) => l.msg === 'scale decision' && decisions().indexOf(l) > decisions().indexOf(held), 10_000);
      const url = await p.listening();
      const status = (await (await fetch(`${url}/status`)).json()) as { workers: Array<{ rssBytes: number; state: string }> };
      const workers = status.workers.filter((w) => w.state !== 'draining');
      const rssMb = status.workers.reduce((n, w) => n + w.rssBytes, 0) / MiB;
      console.log(`held at ${held['workersBefore']} workers: ${String(held['reason'])}; workers' rss ${Math.round(rssMb)} MiB; cgroup peak ${Math.round(cg.peakMb())} MiB of ${LIMIT_MB}`);

      expect(held['reason']).toMatch(new RegExp(`cgroup memory limit ${LIMIT_MB} MiB less 10% kept free$`));
      expect(Number(held['workersBefore'])).toBeLessThan(MAX_WORKERS);
      expect(Number(held['workersBefore'])).toBeGreaterThanOrEqual(2); // it did scale up while there was room
      expect(later['workersAfter']).toBe(held['workersBefore']);
      expect(workers.length).toBe(held['workersBefore']);
      // Every worker is running its job with its 80 MiB (the last one forked may still be taking its first).
      await until(async () => (await q.getActiveCount()) === workers.length, 'every worker to run a job', 30_000);
      expect(cg.oomKills()).toBe(0);
      const killed = p.logs.filter((l: LogLine) => (l.msg === 'worker died; replacing it' || l.msg === 'worker exited') && l['signal'] === 'SIGKILL');
      expect(killed).toEqual([]);
      expect(cg.peakMb()).toBeLessThan(LIMIT_MB);
    } finally {
      await p.stop();
      await q.obliterate({ force: true }).catch(() => undefined);
      await q.close();
      await deletePrefix(prefix);
    }
  }, 150_000);
});
