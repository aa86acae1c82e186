import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';

/**
 * Debian's Chromium, driven by playwright-core (no browser download is possible on
 * these machines; .ci/run installs the package). CHROMIUM_PATH overrides the path.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

/** What a browser suite drives: set once its first `beforeAll` has run. */
export interface BrowserSuite {
  runtime: TestRuntime;
  browser: Browser;
}

/**
 * Starts a local runtime (with `options`) and Chromium side by side before the
 * suite's tests, and stops both after them. Call it first in a `describe`: hooks
 * registered after it run once both are up, and their `afterAll`s before both stop.
 */
export function useBrowserSuite(options?: Parameters<typeof startTestRuntime>[0]): BrowserSuite {
  const suite = {} as BrowserSuite;
  beforeAll(async () => {
    [suite.runtime, suite.browser] = await Promise.all([startTestRuntime(options), launchBrowser()]);
  });
  afterAll(async () => {
    await suite.browser?.close();
    await suite.runtime?.destroy();
  });
  return suite;
}

/**
 * `port` with `method` answering `ms` later: injected latency (a slow table), so that
 * a running state stays on screen long enough for a test to see it.
 */
export function withLatency<T extends object>(port: T, method: keyof T, ms: number): T {
  const original = port[method] as (...args: unknown[]) => Promise<unknown>;
  const slow = Object.create(port) as T;
  (slow as Record<keyof T, unknown>)[method] = async (...args: unknown[]) => {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return original.apply(port, args);
  };
  return slow;
}

/**
 * `npm run screenshots` (UPDATE_SCREENSHOTS=1) refreshes the documentation's pictures in
 * docs/screenshots; plain test runs still take them (rendering is exercised) but into
 * a temporary folder, so that `npm test` leaves the work tree clean.
 */
const SCREENSHOTS = process.env.UPDATE_SCREENSHOTS
  ? resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'docs', 'screenshots')
  : join(tmpdir(), 'crm-backup-screenshots');

/** Saves a screenshot of the page (see SCREENSHOTS for where). */
export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

/** Signs in on the page as a demo user, by clicking the user's button; resolves once signed in. */
export async function signIn(page: Page, email: string): Promise<void> {
  await page.getByRole('button', { name: new RegExp(`^${email.replace(/[.]/g, '\\.')}`) }).click();
  await page.getByText(`Signed in as ${email}`).waitFor();
}

/**
 * Controls without an accessible name, described for the failure message: every
 * input, button, select and link must be labelled for screen readers.
 */
export async function unlabelledControls(page: Page): Promise<string[]> {
  return page.locator('input, button, select, textarea, a').evaluateAll((elements) =>
    elements
      .filter((element) => {
        const control = element as HTMLInputElement;
        if (control.type === 'hidden' || (element as HTMLElement).hidden) return false;
        const labelled = (control.labels?.length ?? 0) > 0 || element.getAttribute('aria-label') || element.getAttribute('aria-labelledby') || (element.textContent ?? '').trim();
        return !labelled;
      })
      .map((element) => element.outerHTML.slice(0, 120)),
  );
}
