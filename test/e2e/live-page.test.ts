/**
 * The live page in a real browser: Debian's Chromium (/usr/bin/chromium, npm test's pretest
 * installs it) driven by playwright-core, which never downloads a browser. The page loads with no
 * console errors and no request leaving the daemon (uPlot is inlined), the worker chart follows
 * the pool up after a scale event (and back down), job events arrive over /events; at 1400 px and
 * at 420 px, light and dark, nothing scrolls sideways and the header's parts do not overlap; the
 * charts have tooltips; the badge stops saying "ready" when the daemon does not answer. The
 * screenshots go to test-results/live-page-*.png (docs/live-page-*.png are copies of these).
 */
import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openChromium, type Chromium } from '../helpers/chromium.js';
import { cliPerFile, type CliProcess } from '../helpers/cli.js';
import { queue, redisUrl } from '../helpers/redis.js';

const SHOTS = path.resolve('test-results');

describe('live page in Chromium', () => {
  const cli = cliPerFile('page');
  const { prefix } = cli;
  let daemon: CliProcess;
  let chrome: Chromium | undefined;
  let page: Page;
  const consoleErrors: string[] = [];
  const foreignRequests: string[] = [];

  beforeAll(async () => {
    daemon = await cli.start([
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
    chrome = await openChromium({ width: 1280, height: 1100 });
    page = chrome.browser.pages()[0] ?? (await chrome.browser.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(m.text());
    });
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    page.on('request', (r) => {
      if (!r.url().startsWith(daemon.url) && !r.url().startsWith('data:')) foreignRequests.push(r.url());
    });
  });

  afterAll(async () => {
    await chrome?.close();
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
    const before = await page.getAttribute('#workers-chart', 'data-running-series');
    const images = queue('images', prefix);
    try {
      await images.addBulk(Array.from({ length: 36 }, () => ({ name: 'resize', data: { ms: 400 } })));
      await images.add('resize', { ms: 50, fail: true }, { attempts: 1 });
      await page.waitForFunction(() => Number(document.querySelector('#workers-chart')?.getAttribute('data-running')) >= 2, undefined, { timeout: 30_000 });
      expect(await page.getAttribute('#workers-chart', 'data-running-series')).not.toBe(before);
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

  it('fits 1400 px and 420 px, light and dark, with no sideways scroll and no header overlap; screenshots saved', async () => {
    mkdirSync(SHOTS, { recursive: true });
    const layouts = [
      { name: 'light', width: 1400, scheme: 'light' as const },
      { name: 'dark', width: 1400, scheme: 'dark' as const },
      { name: 'narrow', width: 420, scheme: 'light' as const },
      { name: 'narrow-dark', width: 420, scheme: 'dark' as const },
      { name: '700', width: 700, scheme: 'light' as const },
    ];
    for (const l of layouts) {
      await page.setViewportSize({ width: l.width, height: 1000 });
      await page.emulateMedia({ colorScheme: l.scheme });
      await page.waitForFunction(() => (document.querySelector('#workers-chart canvas') as HTMLCanvasElement | null)?.width !== undefined, undefined, { timeout: 10_000 });
      await page.waitForTimeout(300); // a resize and a redraw (the charts follow the window)
      const m = await page.evaluate(() => {
        const header = [...document.querySelectorAll('header > *')].map((e) => e.getBoundingClientRect());
        let overlaps = 0;
        for (let i = 0; i < header.length; i++) for (let j = i + 1; j < header.length; j++) {
          const a = header[i]!, b = header[j]!;
          if (a.width && b.width && a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) overlaps++;
        }
        const chart = document.querySelector('#workers-chart .uplot')!.getBoundingClientRect();
        const bg = getComputedStyle(document.body).backgroundColor.match(/\d+/g)!.map(Number);
        return { scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth, overlaps, chartRight: chart.right, bg };
      });
      expect(m.scrollWidth, `${l.name}: page width ${m.scrollWidth} in a ${m.clientWidth} px window`).toBeLessThanOrEqual(m.clientWidth);
      expect(m.overlaps, `${l.name}: header parts overlapping`).toBe(0);
      expect(m.chartRight).toBeLessThanOrEqual(m.clientWidth);
      const luminance = (0.2126 * m.bg[0]! + 0.7152 * m.bg[1]! + 0.0722 * m.bg[2]!) / 255;
      if (l.scheme === 'dark') expect(luminance, `${l.name}: a dark background`).toBeLessThan(0.2);
      else expect(luminance, `${l.name}: a light background`).toBeGreaterThan(0.8);
      if (l.name !== '700') {
        const file = path.join(SHOTS, `live-page-${l.name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        expect(statSync(file).size).toBeGreaterThan(20_000);
      }
    }
    await page.setViewportSize({ width: 1280, height: 1100 });
    await page.emulateMedia({ colorScheme: 'light' });
    expect(consoleErrors).toEqual([]);
  });

  it('charts have tooltips; the header links the job view; the badge is live and not "ready" when the daemon does not answer', async () => {
    const box = (await page.locator('#workers-chart .u-over').boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.9, box.y + box.height / 2);
    await expect.poll(() => page.locator('#workers-chart .tip').textContent(), { timeout: 5000 }).toMatch(/^\d\d:\d\d:\d\d.*running: \d/);
    // Drag to zoom: every chart follows; a double-click shows the whole span again.
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width * 0.7, box.y + box.height / 2, { steps: 5 });
    await page.mouse.up();
    await expect.poll(() => page.getAttribute('body', 'data-zoomed'), { timeout: 5000 }).toBe('yes');
    await page.mouse.dblclick(box.x + box.width / 2, box.y + box.height / 2);
    await expect.poll(() => page.getAttribute('body', 'data-zoomed'), { timeout: 5000 }).toBe('');
    expect(await page.getAttribute('#ready', 'aria-live')).toBe('polite');
    expect(new URL((await page.getAttribute('#jobs-link', 'href'))!, page.url()).href).toBe(`${daemon.url}/jobs`);
    // The daemon stops answering (its two endpoints refuse): the badge must not stay green.
    await page.route(/\/(status|history)$/, (route) => route.abort('connectionrefused'));
    try {
      await expect.poll(() => page.textContent('#ready'), { timeout: 10_000 }).toBe('unreachable');
      expect(await page.getAttribute('#ready', 'class')).not.toContain('ok');
      expect(await page.isVisible('#offline')).toBe(true);
    } finally {
      await page.unroute(/\/(status|history)$/);
    }
    await expect.poll(() => page.textContent('#ready'), { timeout: 10_000 }).toBe('ready');
  });
});
