/**
 * A setup file (vitest.config.ts): every test file gets a temporary folder of its own as TMPDIR, so
 * os.tmpdir() in the test and in every process it starts (daemons, redis-servers, Chromium) puts
 * its files there, and the folder goes when the file is done. Tests leave no wp-* folders behind,
 * and a test that forgets to clean up cannot leave them either.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

const outer = process.env['TMPDIR'];
const root = mkdtempSync(path.join(os.tmpdir(), 'wp-test-file-'));
// As the system's temporary folder lets them: a test that runs a program as another user (nobody) can enter it.
chmodSync(root, 0o755);
process.env['TMPDIR'] = root;

// Registered first, so it runs after the file's own afterAll hooks (vitest runs them as a stack).
afterAll(() => {
  if (outer === undefined) delete process.env['TMPDIR'];
  else process.env['TMPDIR'] = outer;
  rmSync(root, { recursive: true, force: true });
});
