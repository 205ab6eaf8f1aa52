/**
 * Issue 27.7: each command loads what it needs. `--version` and `--help` load no Redis client and no
 * daemon; `enqueue` (one talk with Redis) loads BullMQ but not the daemon, its HTTP server, metrics
 * or job board. Checked from the modules the process actually resolves (the times are in the
 * issue's closing note: CPU and wall, before and after).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { deletePrefix, redisUrl, uniquePrefix } from '../helpers/redis.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(path.join(os.tmpdir(), 'wp-cli-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the command with the import log; the modules it loaded (paths under the repository, or package names). */
function loaded(args: string[]): { code: number | null; stdout: string; modules: string[] } {
  const log = path.join(dir, `${args.join('_').replace(/\W+/g, '_')}.log`);
  const r = spawnSync(process.execPath, ['--import', './test/helpers/import-log.mjs', 'bin/worker-pool', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, WP_IMPORT_LOG: log } });
  const modules = readFileSync(log, 'utf8')
    .split('\n')
    .filter((u) => u.startsWith('file://'))
    .map((u) => {
      const p = fileURLToPath(u);
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(p)?.[1];
      return pkg ? `pkg:${pkg}` : path.relative(root, p);
    });
  return { code: r.status, stdout: r.stdout, modules: [...new Set(modules)] };
}

const HEAVY = ['dist/daemon/', 'dist/supervisor/supervisor.js', 'dist/http/', 'dist/observe/', 'pkg:hono', 'pkg:@bull-board/api', 'pkg:prom-client'];
const heavyIn = (modules: string[]) => modules.filter((m) => HEAVY.some((h) => m.startsWith(h)));

describe('what a command loads', () => {
  it('--version and --help load neither Redis nor the daemon', () => {
    for (const args of [['--version'], ['--help'], ['enqueue', '--help']]) {
      const r = loaded(args);
      expect(r.code, args.join(' ')).toBe(0);
      expect(heavyIn(r.modules), args.join(' ')).toEqual([]);
      expect(r.modules.filter((m) => m === 'pkg:bullmq' || m === 'pkg:ioredis'), args.join(' ')).toEqual([]);
      console.log(`worker-pool ${args.join(' ')}: ${r.modules.length} modules`);
    }
  });

  it('enqueue loads BullMQ but not the daemon, its HTTP server, metrics or job board', async () => {
    const prefix = uniquePrefix('startup');
    try {
      const r = loaded(['enqueue', '--redis-url', redisUrl(), '--prefix', prefix, '--queue', 'q']);
      expect(r.code).toBe(0);
      expect(r.modules).toContain('pkg:bullmq');
      expect(heavyIn(r.modules)).toEqual([]);
      console.log(`worker-pool enqueue: ${r.modules.length} modules`);
    } finally {
      await deletePrefix(prefix);
    }
  });
});
