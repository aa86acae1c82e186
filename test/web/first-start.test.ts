import type { Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { holdSeeding } from '../support/hold-seeding.ts';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { launchBrowser, signIn } from './browser.ts';

describe('the web page while the local runtime starts', () => {
  let runtime: TestRuntime | undefined;
  let browser: Browser | undefined;
  afterAll(async () => {
    await browser?.close();
    await runtime?.destroy();
  });

  it('says the service is starting, then carries on by itself once the demo data is seeded', async () => {
    const hold = holdSeeding();
    const starting = startTestRuntime({ wrapDeps: hold.wrapDeps, onListening: hold.onListening });
    const [url, launched] = await Promise.all([hold.url, launchBrowser()]);
    browser = launched;
    const page = await browser.newPage();
    await page.goto(`${url}/backups`);
    await signIn(page, 'admin@acme.example');
    await page.getByRole('heading', { name: 'One moment' }).waitFor();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('The service is starting: seeding demo data. Try again in a few seconds.');
    expect(await page.title()).toBe('Starting · CRM backups');

    hold.release();
    runtime = await starting;
    await page.getByRole('heading', { name: 'Backups', level: 1 }).waitFor({ timeout: 10_000 });
    expect(await page.getByRole('button', { name: 'Back up now' }).isEnabled()).toBe(true);
  });
});
