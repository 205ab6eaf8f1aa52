/**
 * Issue 27.10: a test run leaves no wp-* folders in the temporary folder. Runs vitest on test files
 * that make temporary folders and do not remove them all (config.test.ts makes one at load time),
 * with a fresh TMPDIR, and checks that it is empty afterwards.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { redisUrl } from '../helpers/redis.js';

describe('temporary files', () => {
  it('a test run leaves nothing in the temporary folder', () => {
    // Outside this file's own folder: what the inner run leaves must be seen, not cleaned with ours.
    const tmp = mkdtempSync(path.join(path.dirname(os.tmpdir()), 'wp-temp-files-check-'));
    try {
      const files = ['test/unit/config.test.ts', 'test/unit/http-access.test.ts', 'test/unit/redis-target.test.ts'];
      const r = spawnSync(process.execPath, ['node_modules/vitest/vitest.mjs', 'run', ...files], { encoding: 'utf8', env: { ...process.env, TMPDIR: tmp, REDIS_URL: redisUrl() }, timeout: 120_000 });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(readdirSync(tmp)).toEqual([]);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  });
});
