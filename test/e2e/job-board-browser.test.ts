/**
 * The job board in a real browser (/usr/bin/chromium through playwright-core), logged in with
 * Basic auth as a user of role read: the live page's link leads to bull-board, which renders the
 * pool's queue and its failed job with the reason; the browser's own requests (same-origin, with
 * Sec-Fetch-* headers) pass the server's checks. Screenshot: test-results/job-board.png
 * (docs/job-board.png is one).
 */
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChromium, type Chromium } from '../helpers/chromium.js';
import { cliPerFile, type CliProcess } from '../helpers/cli.js';
import { writeAccessFiles } from '../helpers/http-access.js';
import { queue, redisUrl } from '../helpers/redis.js';
import { until } from '../helpers/wait.js';

const cli = cliPerFile('board');
const { prefix } = cli;

describe('job board in Chromium', () => {
  let daemon: CliProcess;
  let chrome: Chromium | undefined;

  beforeAll(async () => {
    const access = writeAccessFiles({ bearer: false });
    daemon = await cli.start(['--name', 'shop', '--redis-url', redisUrl(), '--prefix', prefix, '--queues', 'orders', '--processor', 'test/fixtures/progress.mjs', '--http-config', access.file]);
    chrome = await openChromium({ width: 1280, height: 800 }, { httpCredentials: { username: access.user, password: access.password } });
  });

  afterAll(async () => {
    await chrome?.close();
  });

  it('from the live page\'s link, shows the failed job and its reason', async () => {
    const orders = queue('orders', prefix);
    await orders.add('charge', { ms: 20, fail: true }, { attempts: 1 });
    await until(async () => (await orders.getFailedCount()) === 1, 'the job failed', 20_000);
    await orders.close();
    const page = await chrome!.browser.newPage();
    // The board asks Google for a web font; there is no network here, so refuse it at once.
    await page.route(/fonts\.(googleapis|gstatic)\.com/, (r) => r.abort());
    await page.goto(`${daemon.url}/`);
    await page.click('a[href="jobs"]');
    await page.waitForURL(/\/jobs\/?$/);
    await expect.poll(() => page.getByText('orders').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    // The pool's worker is listed on its queue (issue 27.2): the board no longer says "No workers".
    await page.waitForLoadState('networkidle');
    expect(await page.getByText(/no workers/i).count()).toBe(0);
    await page.goto(`${daemon.url}/jobs/queue/orders?status=failed`);
    await expect.poll(() => page.getByText('failed as requested').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: path.resolve('test-results/job-board.png') });
  });
});
