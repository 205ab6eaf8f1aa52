/**
 * Debian's Chromium (/usr/bin/chromium) driven by playwright-core, which never downloads a browser:
 * headless, in a fresh profile directory removed on close. A missing browser fails with what to install.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface Chromium {
  browser: BrowserContext;
  /** Close the browser and remove its profile. */
  close(): Promise<void>;
}

export interface ChromiumOptions {
  /** Basic auth credentials the browser answers a 401 with. */
  httpCredentials?: { username: string; password: string };
}

export async function openChromium(viewport: { width: number; height: number }, opts: ChromiumOptions = {}): Promise<Chromium> {
  const profile = mkdtempSync(path.join(tmpdir(), 'wp-chromium-'));
  let browser: BrowserContext;
  try {
    browser = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport,
      ...(opts.httpCredentials ? { httpCredentials: opts.httpCredentials } : {}),
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`cannot start ${CHROMIUM} (install Debian's "chromium" package): ${(err as Error).message}`);
  }
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
