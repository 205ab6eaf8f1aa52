/**
 * The job board in a real browser (/usr/bin/chromium through playwright-core): the live page's
 * link leads to bull-board, which renders the pool's queue and its failed job with the reason.
 * Screenshot: test-results/job-board.png (docs/job-board.png is one).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCli, type CliProcess } from '../helpers/cli.js';
import { deletePrefix, queue, redisUrl, uniquePrefix } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const CHROMIUM = '/usr/bin/chromium';
const prefix = uniquePrefix('board');

describe('job board in Chromium', () => {
  let daemon: CliProcess;
  let browser: BrowserContext | undefined;
  const profile = mkdtempSync(path.join(tmpdir(), 'wp-board-chromium-'));

  beforeAll(async () => {
    daemon = await startCli(['--name', 'shop', '--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'orders', '--processor', 'test/fixtures/progress.mjs']);
    try {
      browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        viewport: { width: 1280, height: 800 },
      });
    } catch (err) {
      throw new Error(`cannot start ${CHROMIUM} (install Debian's "chromium" package): ${(err as Error).message}`);
    }
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    await deletePrefix(prefix);
    rmSync(profile, { recursive: true, force: true });
  });

  it('from the live page\'s link, shows the failed job and its reason', async () => {
    const orders = queue('orders', prefix);
    await orders.add('charge', { ms: 20, fail: true }, { attempts: 1 });
    await until(async () => (await orders.getFailedCount()) === 1, 'the job failed', 20_000);
    await orders.close();
    const page = await browser!.newPage();
    // The board asks Google for a web font; there is no network here, so refuse it at once.
    await page.route(/fonts\.(googleapis|gstatic)\.com/, (r) => r.abort());
    await page.goto(`${daemon.url}/`);
    await page.click('a[href="jobs"]');
    await page.waitForURL(/\/jobs\/?$/);
    await expect.poll(() => page.getByText('orders').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    await page.goto(`${daemon.url}/jobs/queue/orders?status=failed`);
    await expect.poll(() => page.getByText('failed as requested').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: path.resolve('test-results/job-board.png') });
  });
});
