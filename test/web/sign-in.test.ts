import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { startTestRuntime, type TestRuntime } from '../support/local-runtime.ts';
import { launchBrowser, screenshot, signIn } from './browser.ts';

describe('the web page: signing in', () => {
  let runtime: TestRuntime;
  let browser: Browser;

  beforeAll(async () => {
    [runtime, browser] = await Promise.all([startTestRuntime(), launchBrowser()]);
  });
  afterAll(async () => {
    await browser?.close();
    await runtime?.destroy();
  });

  it('serves the page at every app address and keeps the API apart', async () => {
    const page = await fetch(`${runtime.url}/backups/bk_anything`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/text\/html/);
    const config = await (await fetch(`${runtime.url}/config.json`)).json();
    expect(config).toEqual({ apiUrl: '', mode: 'local' });
    const api = await fetch(`${runtime.url}/v1/nothing-here`);
    expect(api.status).toBe(404);
    expect((await api.json()).error.code).toBe('NOT_FOUND');
    expect((await fetch(`${runtime.url}/missing.js`)).status).toBe(404);
  });

  it('offers the demo users, signs in and shows who is signed in', async () => {
    const page = await browser.newPage();
    await page.goto(runtime.url);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Sign in');
    await screenshot(page, 'sign-in');
    await signIn(page, 'admin@acme.example');
    await page.getByText('Signed in as admin@acme.example').waitFor();
    expect(new URL(page.url()).pathname).toBe('/backups');
    await page.close();
  });
});
