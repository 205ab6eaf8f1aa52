/**
 * The live page in a real browser: Debian's Chromium (/usr/bin/chromium, .ci/run installs it)
 * driven by playwright-core, which never downloads a browser. The page loads with no console
 * errors and no request leaving the daemon, the worker chart follows the pool up after a scale
 * event (and back down), job events arrive over /events, and a screenshot is saved to
 * test-results/live-page.png (docs/live-page.png is one of these).
 */
import { mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCliDaemon, type CliDaemon } from '../helpers/cli-daemon.js';
import { deletePrefix, queue, redisUrl, uniquePrefix } from '../helpers/redis.js';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.resolve('test-results/live-page.png');

describe('live page in Chromium', () => {
  const prefix = uniquePrefix('page');
  const profile = mkdtempSync(path.join(tmpdir(), 'wp-chromium-'));
  let daemon: CliDaemon;
  let browser: BrowserContext;
  let page: Page;
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];

  beforeAll(async () => {
    daemon = await startCliDaemon([
      '--name', 'web',
      '--redis-url', redisUrl(),
      '--prefix', prefix,
      '--queues', 'images,email',
      '--processor', 'test/fixtures/progress.mjs',
      '--min-workers', '1',
      '--max-workers', '3',
      '--scaling-period', '1',
      '--window', '2',
      '--events-payloads', // the page shows failure reasons from the stream
    ]);
    try {
      browser = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
        viewport: { width: 1280, height: 1100 },
      });
    } catch (err) {
      throw new Error(`cannot start ${CHROMIUM} (install Debian's "chromium" package): ${(err as Error).message}`);
    }
    page = browser.pages()[0] ?? (await browser.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith(daemon.url) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await daemon?.stop();
    await deletePrefix(prefix);
    rmSync(profile, { recursive: true, force: true });
  });

  const running = () => page.getAttribute('#workers-chart', 'data-running');

  it('loads with no console errors, asking nothing of the network but the daemon', async () => {
    const res = await page.goto(daemon.url + '/');
    expect(res?.status()).toBe(200);
    await page.waitForFunction(() => document.querySelector('#workers-chart')?.getAttribute('data-running') === '1', undefined, { timeout: 20_000 });
    await expect.poll(() => page.textContent('#ready'), { timeout: 20_000 }).toBe('ready');
    expect(await page.textContent('#pool')).toBe('web');
    expect(await page.locator('#workers tbody tr').count()).toBe(1);
    expect(consoleErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  });

  it('the worker chart rises after a scale-up and falls back after the load; job events arrive live', async () => {
    const before = await page.getAttribute('#running-line', 'd');
    const images = queue('images', prefix);
    try {
      await images.addBulk(Array.from({ length: 36 }, () => ({ name: 'resize', data: { ms: 400 } })));
      await images.add('resize', { ms: 50, fail: true }, { attempts: 1 });
      await page.waitForFunction(() => Number(document.querySelector('#workers-chart')?.getAttribute('data-running')) >= 2, undefined, { timeout: 30_000 });
      expect(await page.getAttribute('#running-line', 'd')).not.toBe(before);
      await expect.poll(() => page.locator('#decisions li span.up').count(), { timeout: 10_000 }).toBeGreaterThan(0);
      await expect.poll(() => page.locator('#events li', { hasText: 'completed' }).count(), { timeout: 10_000 }).toBeGreaterThan(0);
      await expect.poll(() => page.locator('#events li', { hasText: 'failed as requested' }).count(), { timeout: 30_000 }).toBe(1);
      // The load is over: utilization falls below half the threshold and the pool shrinks again.
      await page.waitForFunction(() => document.querySelector('#workers-chart')?.getAttribute('data-running') === '1', undefined, { timeout: 40_000 });
      expect(await page.locator('#decisions li span.down').count()).toBeGreaterThan(0);
    } finally {
      await images.close();
    }
    expect(consoleErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
    expect(await running()).toBe('1');
  });

  it('saves a screenshot', async () => {
    mkdirSync(path.dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(20_000);
  });
});
